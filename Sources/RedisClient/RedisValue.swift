/// A Redis reply (RESP2), copied out of hiredis's reply tree so no C pointer outlives the reply.
public enum RedisValue: Sendable, Hashable {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case array([RedisValue])
    case null

    /// The text of a bulk or status reply.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }

    /// An integer reply, or a bulk reply holding a decimal integer (as `GET` of a counter answers).
    public var int: Int? {
        switch self {
        case .integer(let n): n
        case .bulk(let bytes): Int(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// A bulk reply holding a decimal number (as sorted-set scores are answered).
    public var double: Double? {
        switch self {
        case .integer(let n): Double(n)
        case .bulk(let bytes): Double(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

/// One command as binary-safe arguments in a single buffer (one allocation however many arguments).
public struct RedisCommand: Sendable, CustomStringConvertible {
    var storage: [UInt8] = []
    var lengths: [Int] = []

    public init(_ arguments: String...) {
        for a in arguments { append(a) }
    }

    public init(_ arguments: [String]) {
        storage.reserveCapacity(arguments.reduce(0) { $0 + $1.utf8.count })
        lengths.reserveCapacity(arguments.count)
        for a in arguments { append(a) }
    }

    public mutating func append(_ argument: String) {
        storage.append(contentsOf: argument.utf8)
        lengths.append(argument.utf8.count)
    }

    public mutating func append(_ argument: some Collection<UInt8>) {
        storage.append(contentsOf: argument)
        lengths.append(argument.count)
    }

    public mutating func append(_ argument: Int) {
        append(String(argument))
    }

    public mutating func append(contentsOf arguments: [String]) {
        for a in arguments { append(a) }
    }

    public var argumentCount: Int { lengths.count }

    /// The command name, for logs and errors (arguments may hold visitor data: never logged).
    public var name: String {
        guard let first = lengths.first else { return "" }
        return String(decoding: storage[0..<first], as: UTF8.self).uppercased()
    }

    public var description: String { name }
}

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
