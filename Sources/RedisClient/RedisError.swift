

public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made (refused, unreachable, authentication failed); nothing was sent.
    case unavailable(String)
    /// The request waited past its deadline before it could be sent; nothing was sent.
    case timedOut
    /// The connection broke or timed out after the commands were written: they may or may not have run.
    case connectionLost(String)
    /// Redis answered with an error.
    case server(String)
    /// The client is shut down.
    case shutdown
    /// The reply does not have the shape the command promises.
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
