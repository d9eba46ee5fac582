import AnalyticsCore
import Testing

@Suite("JSONScanner")
struct JSONScannerTests {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONScanner.parse(Array(text.utf8))
    }

    private func text(of value: JSONValue, in source: String) -> String {
        String(decoding: Array(source.utf8)[value.span], as: UTF8.self)
    }

    private func syntaxError(_ bytes: [UInt8]) -> JSONSyntaxError? {
        do {
            _ = try JSONScanner.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    // MARK: valid documents

    @Test func parsesAnObjectWithEveryKind() throws {
        let source = #"{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null,"a":[1,2],"o":{"k":"v"}}"#
        let root = try parse(source)
        #expect(root.kind == .object)
        #expect(root.members.map(\.key) == ["s", "n", "t", "f", "z", "a", "o"])
        #expect(root["s"]?.kind == .string)
        #expect(root["s"]?.string == "x")
        #expect(root["n"]?.kind == .number)
        #expect(root["n"]?.string == nil)
        #expect(root["t"]?.kind == .bool)
        #expect(root["f"]?.kind == .bool)
        #expect(root["z"]?.kind == .null)
        #expect(root["a"]?.kind == .array)
        #expect(root["a"]?.members.isEmpty == true)
        #expect(root["o"]?.kind == .object)
        #expect(root["o"]?["k"]?.string == "v")
        #expect(root["missing"] == nil)
        #expect(root.span == 0..<source.utf8.count)
        #expect(root.containsNUL == false)
    }

    @Test(arguments: [
        "0", "-0", "1", "-1", "123456789", "1.5", "-0.25", "1e5", "1E5", "1e+5", "1e-5", "2.5E-10", "0e0", "0.0",
        "true", "false", "null", #""""#, #""a b""#, "[]", "{}", "[[]]", #"{"":""}"#, " \t\r\n1 \t\r\n",
    ])
    func acceptsValidDocuments(source: String) throws {
        _ = try parse(source)
    }

    @Test func scalarKinds() throws {
        #expect(try parse("42").kind == .number)
        #expect(try parse("true").kind == .bool)
        #expect(try parse("null").kind == .null)
        #expect(try parse(#""hi""#).kind == .string)
        #expect(try parse(#""hi""#).string == "hi")
        #expect(try parse("[]").kind == .array)
    }

    // MARK: spans

    @Test func spansCoverTheRawTextOfEachValue() throws {
        let source = #"  { "a" : [1, 2 ,3] , "b":"x\"y\u00e9" ,"c" : { "d" : null } , "e": -12.5e-3, "f":true }  "#
        let root = try parse(source)
        #expect(text(of: root, in: source) == #"{ "a" : [1, 2 ,3] , "b":"x\"y\u00e9" ,"c" : { "d" : null } , "e": -12.5e-3, "f":true }"#)
        #expect(root.span.lowerBound == 2)
        #expect(text(of: try #require(root["a"]), in: source) == "[1, 2 ,3]")
        #expect(text(of: try #require(root["b"]), in: source) == #""x\"y\u00e9""#)
        #expect(text(of: try #require(root["c"]), in: source) == #"{ "d" : null }"#)
        #expect(text(of: try #require(root["c"]?["d"]), in: source) == "null")
        #expect(text(of: try #require(root["e"]), in: source) == "-12.5e-3")
        #expect(text(of: try #require(root["f"]), in: source) == "true")
    }

    @Test func spansAreByteOffsetsNotCharacterOffsets() throws {
        let source = #"{"é😀":"ü","x":[true]}"#
        let root = try parse(source)
        let x = try #require(root["x"])
        #expect(text(of: x, in: source) == "[true]")
        // "{"é😀":"ü"," is 1 + 1 + 2 + 4 + 1 + 1 + 1 + 2 + 1 + 1 = 15 bytes, then "x": is 4.
        #expect(x.span == 19..<25)
        #expect(root.members.first?.key == "é😀")
        #expect(root["é😀"]?.string == "ü")
    }

    // MARK: depth

    @Test(arguments: [
        ("1", 0), (#""s""#, 0), ("null", 0), ("{}", 1), ("[]", 1), (#"{"a":1}"#, 1), ("[1,2]", 1),
        (#"{"a":{}}"#, 2), (#"{"a":[1]}"#, 2), ("[[]]", 2), (#"{"a":{"b":{"c":1}}}"#, 3), ("[[[1]]]", 3),
        (#"{"a":1,"b":{"c":[[]]},"d":{}}"#, 4), (#"[1,{"a":[1,[2]]},3]"#, 4),
    ])
    func depth(source: String, expected: Int) throws {
        #expect(try parse(source).depth == expected)
    }

    // MARK: members and duplicates

    @Test func membersKeepInputOrderAndTheLastDuplicateWins() throws {
        let source = #"{"b":1,"a":2,"b":3,"c":4,"b":"last"}"#
        let root = try parse(source)
        #expect(root.members.map(\.key) == ["b", "a", "b", "c", "b"])
        let b = try #require(root["b"])
        #expect(b.kind == .string)
        #expect(b.string == "last")
        #expect(text(of: try #require(root["a"]), in: source) == "2")
    }

    @Test func keysAreUnescapedForLookup() throws {
        let root = try parse(#"{"th\u0065me":"dark","a\/b":1}"#)
        #expect(root["theme"]?.string == "dark")
        #expect(root["a/b"] != nil)
    }

    // MARK: strings

    @Test(arguments: [
        (#""a\nb""#, "a\nb"),
        (#""\u00e9""#, "é"),
        (#""\u00E9t\u00c9""#, "étÉ"),
        (#""\ud83d\ude00""#, "😀"),
        (#""x\uD83D\uDE00y""#, "x😀y"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""plain é 😀""#, "plain é 😀"),
        (#""\u20ac""#, "€"),
        (#""""#, ""),
    ])
    func unescapesStrings(source: String, expected: String) throws {
        #expect(try parse(source).string == expected)
    }

    @Test func containsNUL() throws {
        #expect(try parse(#""\u0000""#).containsNUL)
        #expect(try parse(#""\u0000""#).string == "\u{0}")
        #expect(try parse(#""a\u0000b""#).string == "a\u{0}b")
        #expect(try parse(#"{"a":["x","\u0000"]}"#).containsNUL)
        #expect(try parse(#"{"a":{"b":"\u0000"}}"#)["a"]?.containsNUL == true)
        #expect(try parse(#"{"\u0000":1}"#).containsNUL)  // in a key
        #expect(try parse(#"[{"a":"\u0000"}]"#).containsNUL)
        #expect(try parse(#"{"a":"\u0000","b":"ok"}"#)["b"]?.containsNUL == false)
        #expect(try parse(#"{"a":"\\u0000"}"#).containsNUL == false)  // an escaped backslash, then text
        #expect(try parse(#"{"a":"\u0001"}"#).containsNUL == false)
        #expect(try parse(#"["x"]"#).containsNUL == false)
    }

    // MARK: nesting

    @Test func nestingUpTo64IsAccepted() throws {
        let arrays = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try parse(arrays).depth == 64)
        let objects = String(repeating: #"{"a":"#, count: 63) + "{}" + String(repeating: "}", count: 63)
        #expect(try parse(objects).depth == 64)
    }

    @Test func nestingBeyond64IsRefused() {
        let arrays = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(syntaxError(Array(arrays.utf8))?.reason == "nesting too deep")
        let objects = String(repeating: #"{"a":"#, count: 64) + "{}" + String(repeating: "}", count: 64)
        #expect(syntaxError(Array(objects.utf8))?.reason == "nesting too deep")
        let mixed = String(repeating: #"[{"a":"#, count: 33) + "1" + String(repeating: "}]", count: 33)
        #expect(syntaxError(Array(mixed.utf8))?.reason == "nesting too deep")
        // Far deeper input must not overflow the stack.
        let deep = String(repeating: "[", count: 100_000)
        #expect(syntaxError(Array(deep.utf8)) != nil)
    }

    // MARK: rejections

    @Test(arguments: [
        ("", "empty input"),
        ("   ", "only whitespace"),
        ("[1,]", "trailing comma in array"),
        (#"{"a":1,}"#, "trailing comma in object"),
        ("[,1]", "leading comma"),
        ("[1 2]", "missing comma"),
        ("01", "leading zero"),
        ("-01", "leading zero, negative"),
        ("00", "double zero"),
        ("1.", "no digit after the point"),
        (".5", "no digit before the point"),
        ("-", "lone minus"),
        ("+1", "plus sign"),
        ("--1", "double minus"),
        ("1e", "empty exponent"),
        ("1e+", "signed empty exponent"),
        ("1.e5", "point then exponent"),
        ("0x10", "hex"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        (#""abc"#, "unterminated string"),
        (#""abc\"#, "unterminated escape"),
        (#"{"a":"b"#, "unterminated string in object"),
        (#""\x""#, "bad escape"),
        (#""\'""#, "single-quote escape"),
        (#""\u12""#, "short unicode escape"),
        (#""\uZZZZ""#, "non-hex unicode escape"),
        (#""\ud83d""#, "lone high surrogate"),
        (#""\ude00""#, "lone low surrogate"),
        (#""\ud83d\u0041""#, "high surrogate then non-surrogate"),
        (#""\ud83dx""#, "high surrogate then text"),
        (#""\ud83d\ud83d""#, "two high surrogates"),
        ("{} x", "trailing garbage"),
        ("1 2", "two values"),
        ("{}}", "extra brace"),
        ("[]]", "extra bracket"),
        ("tru", "truncated literal"),
        ("True", "capitalised literal"),
        ("nul", "truncated null"),
        ("nulll", "literal with trailing garbage"),
        ("{1:2}", "non-string key"),
        ("{'a':1}", "single-quoted key"),
        (#"{"a" 1}"#, "missing colon"),
        (#"{"a":}"#, "missing value"),
        (#"{"a":1"#, "unterminated object"),
        ("[1", "unterminated array"),
        ("[", "lone bracket"),
        ("{", "lone brace"),
        ("// c\n1", "comment"),
    ])
    func rejects(source: String, why: String) {
        #expect(syntaxError(Array(source.utf8)) != nil, "\(why): \(source)")
    }

    @Test func rejectsControlCharactersInStrings() {
        for byte in UInt8(0)..<0x20 {
            #expect(syntaxError([0x22, 0x61, byte, 0x62, 0x22]) != nil, "raw byte \(byte)")
            // Also after an escape (the slow path).
            #expect(syntaxError(Array(#""\n"#.utf8) + [byte, 0x22]) != nil, "raw byte \(byte) after escape")
        }
        #expect(syntaxError(Array("\"a\tb\"".utf8))?.reason == "control character in string")
        #expect(syntaxError([0x22, 0x7F, 0x22]) == nil)  // DEL is allowed by RFC 8259
    }

    @Test(
        arguments: [
            [0x22, 0xFF, 0x22],  // never valid in UTF-8
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xE2, 0x82, 0x22],  // truncated 3-byte sequence
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8-encoded surrogate
            [0x22, 0x80, 0x22],  // lone continuation byte
            [0x22, 0x5C, 0x6E, 0xFF, 0x22],  // invalid byte after an escape
            [0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D],  // invalid byte in a key
        ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(syntaxError(bytes)?.reason == "invalid UTF-8 in string")
    }

    @Test func rejectsInvalidUTF8OutsideStrings() {
        #expect(syntaxError([0xEF, 0xBB, 0xBF, 0x31]) != nil)  // a byte-order mark is not JSON
        #expect(syntaxError([0x5B, 0xFF, 0x5D]) != nil)
    }

    @Test func errorsCarryTheirOffsetAndReason() {
        let trailing = syntaxError(Array("{} x".utf8))
        #expect(trailing?.offset == 3)
        #expect(trailing?.reason == "unexpected data after the JSON value")
        #expect(trailing?.description == "unexpected data after the JSON value at byte 3")
        #expect(syntaxError([])?.reason == "unexpected end of input")
        #expect(syntaxError(Array(#""\q""#.utf8))?.reason == "invalid escape")
        #expect(syntaxError(Array(#""\ud83d""#.utf8))?.reason == "unpaired surrogate")
        #expect(syntaxError(Array(#""\ude00""#.utf8))?.reason == "unpaired surrogate")
        #expect(syntaxError(Array(#""abc"#.utf8))?.reason == "unterminated string")
        #expect(syntaxError(Array("01".utf8))?.offset == 1)
    }
}
