import Testing

@testable import GatewayKit

@Suite("CSV fields")
struct CSVFieldTests {
    @Test(arguments: [
        ("/pricing", "/pricing"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("line\r\nbreak", "\"line\r\nbreak\""),
        ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
        ("+33 1", "'+33 1"),
        ("@mention", "'@mention"),
        ("-5", "-5"),
        ("", ""),
    ])
    func aFieldIsQuotedWhenItMustBeAndDefusedWhenASpreadsheetWouldRunIt(value: String, written: String) {
        #expect(CSVField.escaped(value) == written)
    }
}
