import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A strict JSON parser specialised for the hub's messages: validates the whole text and keeps
/// only the top-level `type`, the event timestamps (in `data` for `event`, in each element of `data`
/// for `events`) and any key naming a visitor or `event_data` at any depth.
struct HubMessageParser {
    struct Result {
        var type: String?
        var dataTimestamp: Double?
        var elementTimestamps: [Double] = []
        var elementCount = 0
        var forbiddenKeys: [String] = []
    }

    struct SyntaxError: Error {}

    private enum Role { case root, data, element, other }

    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var result = Result()

    static func parse(_ bytes: [UInt8]) throws -> Result {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = HubMessageParser(b: buffer)
            parser.whitespace()
            _ = try parser.value(.root, depth: 0)
            parser.whitespace()
            guard parser.i == buffer.count else { throw SyntaxError() }
            return parser.result
        }
    }

    private init(b: UnsafeBufferPointer<UInt8>) { self.b = b }

    private mutating func whitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// Parses a value; returns it if it is a number.
    @discardableResult
    private mutating func value(_ role: Role, depth: Int) throws -> Double? {
        guard i < b.count, depth < 64 else { throw SyntaxError() }
        switch b[i] {
        case UInt8(ascii: "{"): try object(role, depth: depth + 1)
        case UInt8(ascii: "["): try array(role, depth: depth + 1)
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: return try number()
        }
        return nil
    }

    private mutating func object(_ role: Role, depth: Int) throws {
        i += 1
        if role == .element { result.elementCount += 1 }
        whitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            whitespace()
            let raw = try scanString()
            let key: Key = raw.plain ? Key(bytes: UnsafeBufferPointer(rebasing: b[raw.range])) : Key(string: try decode(raw))
            if key.isForbidden, result.forbiddenKeys.count < 5 {
                result.forbiddenKeys.append(
                    raw.plain ? String(decoding: UnsafeBufferPointer(rebasing: b[raw.range]), as: UTF8.self) : try decode(raw))
            }
            whitespace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw SyntaxError() }
            i += 1
            whitespace()
            switch (role, key) {
            case (.root, .type):
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw SyntaxError() }
                result.type = try decode(try scanString())
            case (.root, .data):
                try value(.data, depth: depth)
            case (.data, .timestamp):
                result.dataTimestamp = try value(.other, depth: depth)
            case (.element, .timestamp):
                if let t = try value(.other, depth: depth) { result.elementTimestamps.append(t) }
            default:
                try value(.other, depth: depth)
            }
            whitespace()
            guard i < b.count else { throw SyntaxError() }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "}") else { throw SyntaxError() }
            i += 1
            return
        }
    }

    /// The keys that matter, recognised from their bytes without making a String.
    private enum Key: Equatable {
        case type, data, timestamp, other
        case forbidden

        var isForbidden: Bool { self == .forbidden }
        static let visitor = Array("visitor".utf8)
        static let eventData = Array("event_data".utf8)

        init(bytes k: UnsafeBufferPointer<UInt8>) {
            func equal(_ word: StaticString) -> Bool {
                k.count == word.utf8CodeUnitCount && memcmp(k.baseAddress!, word.utf8Start, k.count) == 0
            }
            // `visitor_id`, `visitorId`, `visitor`…, but not `current_visitors` or `unique_visitors`;
            // `event_data`, whatever the case.
            func lowered(_ j: Int) -> UInt8 { k[j] | 0x20 }
            if k.count >= 7, (0..<7).allSatisfy({ lowered($0) == Key.visitor[$0] }) {
                self = .forbidden
            } else if k.count == 10, (0..<10).allSatisfy({ $0 == 5 ? k[$0] == Key.eventData[$0] : lowered($0) == Key.eventData[$0] }) {
                self = .forbidden
            } else if equal("type") {
                self = .type
            } else if equal("data") {
                self = .data
            } else if equal("timestamp") {
                self = .timestamp
            } else {
                self = .other
            }
        }

        init(string: String) {
            var s = string
            self = s.withUTF8 { Key(bytes: $0) }
        }
    }

    private mutating func array(_ role: Role, depth: Int) throws {
        i += 1
        whitespace()
        if i < b.count, b[i] == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            whitespace()
            try value(role == .data ? .element : .other, depth: depth)
            whitespace()
            guard i < b.count else { throw SyntaxError() }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "]") else { throw SyntaxError() }
            i += 1
            return
        }
    }

    /// Skips a string (validated); its bytes between the quotes and whether it has escapes.
    private mutating func scanString() throws -> (range: Range<Int>, plain: Bool) {
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw SyntaxError() }
        i += 1
        let start = i
        var plain = true
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            if b[i] < 0x20 { throw SyntaxError() }
            if b[i] == UInt8(ascii: "\\") {
                plain = false
                i += 2
            } else {
                i += 1
            }
        }
        guard i < b.count else { throw SyntaxError() }
        i += 1
        return (start..<(i - 1), plain)
    }

    /// The text of a scanned string, escapes decoded.
    private func decode(_ s: (range: Range<Int>, plain: Bool)) throws -> String {
        let raw = UnsafeBufferPointer(rebasing: b[s.range])
        if s.plain { return String(decoding: raw, as: UTF8.self) }
        guard
            let decoded = try? JSONSerialization.jsonObject(
                with: Data([UInt8(ascii: "\"")] + Array(raw) + [UInt8(ascii: "\"")]), options: [.fragmentsAllowed]) as? String
        else { throw SyntaxError() }
        return decoded
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw SyntaxError() }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw SyntaxError() }
        i += n
    }

    private mutating func number() throws -> Double {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, (0x30...0x39).contains(b[i]) else { throw SyntaxError() }
        if b[i] == 0x30 { i += 1 } else { while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 } }
        var integral = true
        if i < b.count, b[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw SyntaxError() }
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw SyntaxError() }
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
        }
        let text = UnsafeBufferPointer(rebasing: b[start..<i])
        if integral, text.count <= 18 {
            var v: Int64 = 0
            for c in text where c != UInt8(ascii: "-") { v = v * 10 + Int64(c - 0x30) }
            return Double(text.first == UInt8(ascii: "-") ? -v : v)
        }
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }
}
