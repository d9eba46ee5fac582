import AnalyticsCore
import RedisClient

/// Puts accepted events on the stream (`XADD`). An event counts as accepted only once Redis has
/// answered its `XADD`; concurrent publishes share pipelined round trips through the Redis client
/// (group commit), and no caller waits for a batch to fill.
public struct EventPublisher: Sendable {
    /// Why an event is not known to be on the stream. Both are answered 503 with `Retry-After`; they
    /// are counted apart because only ``inDoubt(_:)`` may hide a stored event. The string says why,
    /// for the logs.
    public enum Failure: Error, Sendable, Equatable {
        /// Redis could not be reached, did not answer in time or refused the entry (an error reply
        /// such as OOM); the event was not written.
        case unavailable(String)
        /// The connection broke after the `XADD` was written: it may or may not be on the stream.
        case inDoubt(String)
    }

    let redis: RedisClient
    let keyspace: RedisKeyspace
    /// Bound on the wait for Redis, so a request is answered 503 well within a second.
    let deadline: Duration

    /// - Parameters:
    ///   - redis: the client that writes to the stream (the gateway's publishing client, apart from
    ///     the one that reads statistics).
    ///   - keyspace: names the stream.
    ///   - deadline: the longest wait for Redis's answer, queueing included.
    public init(redis: RedisClient, keyspace: RedisKeyspace, deadline: Duration = .milliseconds(800)) {
        self.redis = redis
        self.keyspace = keyspace
        self.deadline = deadline
    }

    /// Puts one event on the stream and returns once Redis has answered.
    /// - Returns: the stream entry id Redis assigned (not the event id).
    /// - Throws: ``Failure/unavailable(_:)`` when the event was not written;
    ///   ``Failure/inDoubt(_:)`` when the connection broke after the `XADD` was written.
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

    /// Puts one event on the stream, for a caller that is not async (the event route, which must not
    /// block its event loop).
    /// - Parameters:
    ///   - event: the validated event, with its ids.
    ///   - then: called once with the stream entry id or the ``Failure``, on one of the Redis
    ///     client's threads (or the caller's, when the client is shut down).
    public func publish(_ event: AnalyticsEvent, then: @escaping @Sendable (Result<String, Failure>) -> Void) {
        redis.pipeline([command(for: event)], timeout: deadline) { then(Self.entryID(from: $0)) }
    }

    func command(for event: AnalyticsEvent) -> RedisCommand {
        var command = RedisCommand("XADD", keyspace.stream, "*")
        command.append(contentsOf: StreamEntryCodec.fields(of: event))
        return command
    }

    /// Maps the pipeline's outcome to the entry id or a ``Failure``.
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
