/// A Redis reply (RESP2), copied out of hiredis's reply tree so no C pointer outlives the reply.
public enum RedisValue: Sendable, Hashable {
    /// A simple string reply, such as `OK`.
    case status(String)
    /// An error reply. Inside a pipeline it is a value, not a thrown error: see
    /// ``RedisClient/checkedPipeline(_:timeout:)``.
    case error(String)
    case integer(Int)
    /// A bulk string, as bytes: binary-safe.
    case bulk([UInt8])
    case array([RedisValue])
    /// A null bulk string or array: a missing key, or a blocking read that timed out.
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

    /// An integer reply, or a bulk reply holding a decimal number (as sorted-set scores are answered).
    public var double: Double? {
        switch self {
        case .integer(let n): Double(n)
        case .bulk(let bytes): Double(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
