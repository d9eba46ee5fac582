import AnalyticsCore
import Testing

@Suite("JSONText")
struct JSONTextTests {
    @Test(arguments: [
        ("", #""""#),
        ("plain", #""plain""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"C:\dir\"#, #""C:\\dir\\""#),
        ("a\nb\rc\td", #""a\nb\rc\td""#),
        ("\u{0}", #""\u0000""#),
        ("\u{1}\u{8}\u{C}\u{1F}", #""\u0001\u0008\u000c\u001f""#),
        ("\u{7F}", "\"\u{7F}\""),
        ("café 😀 €", #""café 😀 €""#),
        ("</script>", #""</script>""#),
    ])
    func quoted(value: String, expected: String) {
        #expect(JSONText.quoted(value) == expected)
        var bytes: [UInt8] = [0x41]
        JSONText.appendQuoted(value, to: &bytes)
        #expect(bytes == [0x41] + Array(expected.utf8))
    }

    @Test func everyControlCharacterRoundTripsThroughTheScanner() throws {
        var all = ""
        for scalar in 0..<0x20 { all.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        all += "\"\\/ é\u{7F}\u{FFFF}😀\u{10FFFF}"
        let quoted = JSONText.quoted(all)
        #expect(!quoted.utf8.dropFirst().dropLast().contains { $0 < 0x20 })
        let parsed = try JSONScanner.parse(Array(quoted.utf8))
        #expect(parsed.string == all)
        #expect(parsed.containsNUL)
    }

    @Test func builder() throws {
        var json = JSONText(capacity: 16)
        json.raw("{")
        json.field("name", "a\"b")
        json.raw(",")
        json.field("count", Int64(-42))
        json.raw(",")
        json.string("list")
        json.raw(":[")
        json.number(7)
        json.raw(",")
        json.number(Int64.max)
        json.raw("]")
        json.raw(Array(",\"raw\":true}".utf8))
        let expected = #"{"name":"a\"b","count":-42,"list":[7,9223372036854775807],"raw":true}"#
        #expect(json.string == expected)
        #expect(json.bytes == Array(expected.utf8))
        let parsed = try JSONScanner.parse(json.bytes)
        #expect(parsed["name"]?.string == "a\"b")
        #expect(parsed.members.map(\.key) == ["name", "count", "list", "raw"])
    }

    @Test func emptyBuilder() {
        #expect(JSONText().string == "")
        #expect(JSONText().bytes.isEmpty)
    }
}
