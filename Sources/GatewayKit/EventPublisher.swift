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
        var command = RedisCommand("XADD", keyspace.stream, "*")
        command.append(contentsOf: StreamEntryCodec.fields(of: event))
        let reply: RedisValue
        do {
            reply = try await redis.pipeline([command], timeout: deadline)[0]
        } catch let error as RedisError {
            switch error {
            case .connectionLost(let reason): throw .inDoubt(reason)
            default: throw .unavailable("\(error)")
            }
        } catch {
            throw .unavailable("\(error)")
        }
        guard let id = reply.string, reply.errorMessage == nil else {
            // An error reply (e.g. OOM, MISCONF): Redis did not take the entry.
            throw .unavailable(reply.errorMessage ?? "unexpected XADD reply")
        }
        return id
    }
}
