

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
