/// Why a Redis request failed.
///
/// The cases tell a caller whether a retry could apply a write twice: `unavailable`, `timedOut` and
/// `shutdown` mean nothing was sent; `connectionLost` means the commands were written and may or may
/// not have run (the gateway answers such an event "in doubt"); `server` and `unexpectedReply` mean
/// Redis did answer.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made (refused, unreachable, authentication failed); nothing was sent.
    case unavailable(String)
    /// The request waited past its deadline before it could be sent; nothing was sent.
    case timedOut
    /// The connection broke or timed out after the commands were written: they may or may not have run.
    case connectionLost(String)
    /// Redis answered with an error reply (the message, such as `NOGROUP …`). In a pipeline, the
    /// other commands did run.
    case server(String)
    /// The client is shut down, or shutting down; nothing was sent.
    case shutdown
    /// The reply does not have the shape the command promises; the command did run. The value names
    /// what was being read.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "Redis unavailable: \(reason)"
        case .timedOut: "Redis request timed out before it could be sent"
        case .connectionLost(let reason): "Redis connection lost: \(reason)"
        case .server(let message): "Redis error: \(message)"
        case .shutdown: "Redis client shut down"
        case .unexpectedReply(let what): "unexpected Redis reply: \(what)"
        }
    }
}
