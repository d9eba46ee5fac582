import Foundation
import Synchronization

extension UUID {
    /// The canonical lower-case text form (Foundation's `uuidString` is upper case).
    public var lowercasedString: String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        withUnsafeBytes(of: uuid) { raw in
            for (i, byte) in raw.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses the canonical 36-character form (either case) without Foundation's `sscanf`-based
    /// parser, which dominated the consumers' profiles.
    public init?(canonical text: String) {
        var text = text
        let parsed: UUID? = text.withUTF8 { utf8 -> UUID? in
            guard utf8.count == 36, utf8[8] == 0x2D, utf8[13] == 0x2D, utf8[18] == 0x2D, utf8[23] == 0x2D else { return nil }
            var bytes = (
                UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
                UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0)
            )
            let ok = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var o = 0
                var i = 0
                while i < 36 {
                    if i == 8 || i == 13 || i == 18 || i == 23 {
                        i += 1
                        continue
                    }
                    guard let high = Self.hexValue(utf8[i]), let low = Self.hexValue(utf8[i + 1]) else { return false }
                    out[o] = high << 4 | low
                    o += 1
                    i += 2
                }
                return true
            }
            return ok ? UUID(uuid: bytes) : nil
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    /// Milliseconds since the epoch carried by a version-7 UUID; nil for another version.
    public var version7Milliseconds: Int64? {
        guard uuid.6 >> 4 == 7 else { return nil }
        var t: UInt64 = 0
        withUnsafeBytes(of: uuid) { raw in
            for i in 0..<6 { t = t << 8 | UInt64(raw[i]) }
        }
        return Int64(t)
    }
}
