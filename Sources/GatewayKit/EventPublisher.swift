import AnalyticsCore
import RedisClient

/// Puts accepted events on the stream. An event counts as accepted only once Redis has answered
/// its `XADD`; concurrent publishes share pipelined round trips through the client (group commit).
public struct EventPublisher: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        /// Redis could not be reached or did not answer in time; the event was not written.
        case unavailable(String)
        /// The connection broke after the `XADD` was written: it may or may not be on the stream.
        case inDoubt(String)
    }

    let redis: RedisClient
    let keyspace: RedisKeyspace
    /// Bound on the wait for Redis, so a request is answered 503 well within a second.
    let deadline: Duration

    public init(redis: RedisClient, keyspace: RedisKeyspace, deadline: Duration = .milliseconds(800)) {
        self.redis = redis
        self.keyspace = keyspace
        self.deadline = deadline
    }

    /// Returns the stream entry id once the event is on the stream.
    @discardableResult
    public func publish(_ event: AnalyticsEvent) async throws(Failure) -> String {
        let result: Result<[RedisValue], any Error>
        do {
            result = .success(try await redis.pipeline([command(for: event)], timeout: deadline))
        } catch {
            result = .failure(error)
        }
        return try Self.entryID(from: result).get()
    }

    /// The same for a caller that is not async: `then` is called once, on one of the Redis client's
    /// threads (or the caller's, when the client is shut down).
    public func publish(_ event: AnalyticsEvent, then: @escaping @Sendable (Result<String, Failure>) -> Void) {
        redis.pipeline([command(for: event)], timeout: deadline) { then(Self.entryID(from: $0)) }
    }

    func command(for event: AnalyticsEvent) -> RedisCommand {
        var command = RedisCommand("XADD", keyspace.stream, "*")
        command.append(contentsOf: StreamEntryCodec.fields(of: event))
        return command
    }

    static func entryID(from result: Result<[RedisValue], any Error>) -> Result<String, Failure> {
        let reply: RedisValue
        switch result {
        case .success(let replies):
            reply = replies[0]
        case .failure(RedisError.connectionLost(let reason)):
            return .failure(.inDoubt(reason))
        case .failure(let error):
            return .failure(.unavailable("\(error)"))
        }
        guard let id = reply.string, reply.errorMessage == nil else {
            // An error reply (e.g. OOM, MISCONF): Redis did not take the entry.
            return .failure(.unavailable(reply.errorMessage ?? "unexpected XADD reply"))
        }
        return .success(id)
    }
}
