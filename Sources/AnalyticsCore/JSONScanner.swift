/// A strict RFC 8259 parser: rejects trailing commas, control characters in strings, invalid UTF-8,
/// unpaired surrogates, leading zeros and anything after the top-level value.
///
/// It returns ``JSONValue``s that keep their place in the input, so that a checked `event_data` can be
/// forwarded as sent. Numbers are checked, not converted; duplicate member names are allowed.
public struct JSONScanner {
    /// Nesting beyond this is refused outright, whatever the caller's own limit, to bound the recursion.
    public static let maximumNesting = 64

    /// Parses one JSON document, which may be surrounded by whitespace.
    /// - Throws: ``JSONSyntaxError`` with the byte offset of the first fault.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
            var scanner = JSONScanner(buffer)
            scanner.skipWhitespace()
            let value = try scanner.parseValue(nesting: 0)
            scanner.skipWhitespace()
            guard scanner.index == buffer.count else { throw scanner.error("unexpected data after the JSON value") }
            return value
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, reason: reason)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(nesting: Int) throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(nesting: nesting + 1)
        case UInt8(ascii: "["): return try parseArray(nesting: nesting + 1)
        case UInt8(ascii: "\""):
            let start = index
            let (text, nul) = try parseString()
            return JSONValue(kind: .string, span: start..<index, depth: 0, members: [], string: text, containsNUL: nul)
        case UInt8(ascii: "t"): return try parseLiteral("true", kind: .bool)
        case UInt8(ascii: "f"): return try parseLiteral("false", kind: .bool)
        case UInt8(ascii: "n"): return try parseLiteral("null", kind: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString, kind: JSONValue.Kind) throws(JSONSyntaxError) -> JSONValue {
        let start = index
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw error("invalid literal") }
        for i in 0..<count where bytes[index + i] != literal.utf8Start[i] {
            throw error("invalid literal")
        }
        index += count
        return JSONValue(kind: kind, span: start..<index, depth: 0, members: [], string: nil, containsNUL: false)
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return JSONValue(kind: .number, span: start..<index, depth: 0, members: [], string: nil, containsNUL: false)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func parseObject(nesting: Int) throws(JSONSyntaxError) -> JSONValue {
        guard nesting <= Self.maximumNesting else { throw error("nesting too deep") }
        let start = index
        index += 1
        var members: [JSONValue.Member] = []
        var depth = 1
        var nul = false
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return JSONValue(kind: .object, span: start..<index, depth: 1, members: [], string: nil, containsNUL: false)
        }
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let (key, keyNUL) = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(nesting: nesting)
            members.append(.init(key: key, value: value))
            depth = max(depth, value.depth + 1)
            nul = nul || keyNUL || value.containsNUL
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return JSONValue(kind: .object, span: start..<index, depth: depth, members: members, string: nil, containsNUL: nul)
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(nesting: Int) throws(JSONSyntaxError) -> JSONValue {
        guard nesting <= Self.maximumNesting else { throw error("nesting too deep") }
        let start = index
        index += 1
        var depth = 1
        var nul = false
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return JSONValue(kind: .array, span: start..<index, depth: 1, members: [], string: nil, containsNUL: false, elements: [])
        }
        while true {
            let value = try parseValue(nesting: nesting)
            elements.append(value)
            depth = max(depth, value.depth + 1)
            nul = nul || value.containsNUL
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return JSONValue(
                    kind: .array, span: start..<index, depth: depth, members: [], string: nil, containsNUL: nul, elements: elements)
            } else {
                throw error("expected ',' or ']'")
            }
        }
    }

    /// Parses a string at `index` (on its opening quote); returns its text and whether it holds U+0000.
    private mutating func parseString() throws(JSONSyntaxError) -> (String, Bool) {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                guard let text = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                index += 1
                return (text, false)
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in string") }
            index += 1
        }
        var decoded = Array(bytes[start..<index])
        var nul = false
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: decoded, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return (text, nul)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unexpected end of input") }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): decoded.append(0x22)
                case UInt8(ascii: "\\"): decoded.append(0x5C)
                case UInt8(ascii: "/"): decoded.append(0x2F)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("unpaired surrogate")
                    }
                    if scalar == 0 { nul = true }
                    decoded.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    throw error("invalid escape")
                }
            default:
                if b < 0x20 { throw error("control character in string") }
                decoded.append(b)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
