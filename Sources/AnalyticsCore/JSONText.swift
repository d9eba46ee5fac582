/// Writes JSON text by hand on the hot paths (event ingestion, stream entries, pub/sub messages),
/// where Foundation's encoders cost more than the rest of the request.
///
/// It writes no punctuation between values: the caller adds `{`, `,`, `:`, `[` and the closing
/// brackets with `raw`, and vouches for the result.
public struct JSONText: Sendable {
    /// The UTF-8 text written so far.
    public private(set) var bytes: [UInt8] = []

    /// - Parameter capacity: bytes to reserve up front, so that a typical message is written without
    ///   growing the buffer.
    public init(capacity: Int = 128) {
        bytes.reserveCapacity(capacity)
    }

    /// The text written so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends `text` as is: punctuation, or JSON already checked (such as a validated `event_data`).
    public mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends UTF-8 bytes as is, under the same terms as the `String` form.
    public mutating func raw(_ data: some Sequence<UInt8>) {
        bytes.append(contentsOf: data)
    }

    /// Appends `value` as a quoted JSON string (see ``appendQuoted(_:to:)``).
    public mutating func string(_ value: String) {
        Self.appendQuoted(value, to: &bytes)
    }

    /// Appends an integer in decimal.
    public mutating func number(_ value: Int64) {
        raw(String(value))
    }

    /// Appends an integer in decimal.
    public mutating func number(_ value: Int) {
        raw(String(value))
    }

    /// `"key":` followed by a quoted string.
    public mutating func field(_ key: String, _ value: String) {
        string(key)
        bytes.append(UInt8(ascii: ":"))
        string(value)
    }

    /// `"key":` followed by an integer.
    public mutating func field(_ key: String, _ value: Int64) {
        string(key)
        bytes.append(UInt8(ascii: ":"))
        number(value)
    }

    /// `value` as a quoted JSON string.
    public static func quoted(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        appendQuoted(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value` to `out` as a quoted JSON string: quotes, backslashes and control characters
    /// are escaped; everything else, non-ASCII included, is written as UTF-8.
    public static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
