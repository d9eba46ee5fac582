import AnalyticsCore
import ArchiverKit
import Foundation
import Testing

/// A fresh directory under the system's temporary directory, removed when `body` returns.
private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("archive-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    try body(url.path)
}

private func write(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

private func readAll(_ path: String) throws -> [AnalyticsEvent] {
    let reader = try ArchiveReader(path: path)
    var events: [AnalyticsEvent] = []
    while let event = try reader.next() { events.append(event) }
    return events
}

private func writeArchive(_ events: [AnalyticsEvent], to path: String) throws {
    let writer = try ArchiveWriter(temporaryPath: path + ".tmp")
    for event in events { try writer.append(event) }
    try writer.commit(to: path)
}

/// Runs `/bin/gzip` with `arguments`, its standard output into `output` when given.
private func gzip(_ arguments: [String], output: String? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = arguments
    if let output {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    }
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "gzip \(arguments.joined(separator: " ")) failed")
}

private let knownID = UUID(canonical: "0190a5e2-7b3c-7d4e-8f00-123456789abc")!
private let knownVisitor = UUID(canonical: "5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c")!
/// 2026-11-27T13:46:30.123Z
private let knownTime: Int64 = 1_795_787_190_123

/// Events exercising what the line format must carry: unicode, escapes, control characters, nil
/// fields, nested `event_data` with its own spacing and escapes.
private func sampleEvents(count: Int) -> [AnalyticsEvent] {
    let types = ["pageview", "cv_theme_view", "letter_generated", "a.b:c-d_e", String(repeating: "x", count: 50)]
    let data = [
        "{}",
        #"{"theme":"dark"}"#,
        #"{ "a" : { "b" : [ 1, 2.5e3, -0, true, false, null ] },\#t"s":"x\"y\\z\u00e9\ud83c\udf89\n" }"#,
        #"{"path":"/cv","method":"GET","user_agent":"Mozilla/5.0 (X11; Linux x86_64) \"quoted\""}"#,
        #"{"日本語":"テーマ","emoji":"🎉","mixed":["é",{"k":"\u2028"}]}"#,
        "{\"deep\":{\"deeper\":{\"deepest\":{\"x\":1}}},   \"tab\":\"\\t\"}",
    ]
    let urls: [String?] = [
        nil, "https://example.com/", "https://example.com/cv?theme=dark&lang=fr#top",
        "https://例え.jp/パス?q=\"quoted\"\\back", "line\nbreak\ttab\r\u{1}\u{1F}\u{7F}", "",
    ]
    return (0..<count).map { i in
        AnalyticsEvent(
            id: UUID(), visitorID: UUID(), eventType: types[i % types.count], eventData: data[i % data.count],
            pageURL: urls[i % urls.count], referrer: urls[(i / 2 + 3) % urls.count],
            createdAt: knownTime + Int64(i) * 7919 - 4_000_000_000_000)
    }
}

@Suite("Archive lines")
struct ArchiveLineTests {
    @Test func exactLineOfAKnownEvent() throws {
        var dimensions = EventDimensions()
        dimensions.host = "example.com"
        dimensions.path = "/cv"
        dimensions.browser = "Firefox"
        dimensions.browserVersion = "Firefox 133"
        dimensions.device = "desktop"
        dimensions.country = "FR"
        let event = AnalyticsEvent(
            id: knownID, visitorID: knownVisitor, eventType: "cv_theme_view",
            eventData: #"{"theme": "dark", "n": [1, 2]}"#, pageURL: #"https://example.com/cv?x="1""#, referrer: nil,
            createdAt: knownTime, dimensions: dimensions)
        let line = String(decoding: ArchiveLine.encode(event), as: UTF8.self)
        #expect(
            line
                == #"{"id":"0190a5e2-7b3c-7d4e-8f00-123456789abc","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c","event_type":"cv_theme_view","event_data":{"theme": "dark", "n": [1, 2]},"page_url":"https://example.com/cv?x=\"1\"","referrer":null,"created_at":"2026-11-27T13:46:30.123Z","dimensions":{"host":"example.com","path":"/cv","referrer_source":"","utm_source":"","utm_medium":"","utm_campaign":"","browser":"Firefox","browser_version":"Firefox 133","os":"","device":"desktop","country":"FR"}}"#
        )
        #expect(try ArchiveLine.decode(Array(line.utf8)) == event)
    }

    @Test func upperCaseUUIDsAreWrittenInLowerCase() throws {
        let id = try #require(UUID(canonical: "ABCDEF01-2345-4678-89AB-CDEF01234567"))
        let event = AnalyticsEvent(id: id, visitorID: id, eventType: "x", createdAt: 0)
        let line = String(decoding: ArchiveLine.encode(event), as: UTF8.self)
        #expect(line.contains(#""id":"abcdef01-2345-4678-89ab-cdef01234567""#))
        #expect(line.contains(#""created_at":"1970-01-01T00:00:00.000Z""#))
        #expect(line.contains(#""event_data":{},"page_url":null,"referrer":null"#))
    }

    @Test func everySampleRoundTripsThroughOneLine() throws {
        for event in sampleEvents(count: 60) {
            let line = ArchiveLine.encode(event)
            #expect(!line.contains(0x0A) && !line.contains(0x0D))
            #expect(try ArchiveLine.decode(line) == event)
        }
    }

    @Test func lineBreaksInEventDataBecomeSpaces() throws {
        let event = AnalyticsEvent(
            id: knownID, visitorID: knownVisitor, eventType: "x", eventData: "{\n  \"a\": 1,\r\n  \"b\": \"\\n\"\n}",
            createdAt: knownTime)
        let line = ArchiveLine.encode(event)
        #expect(!line.contains(0x0A) && !line.contains(0x0D))
        #expect(try ArchiveLine.decode(line).eventData == "{   \"a\": 1,    \"b\": \"\\n\" }")
    }

    @Test func decodesWhatOtherToolsWrite() throws {
        let line = """
            {"created_at":"2026-11-27T15:46:30.123456+02:00","extra":[1,{"x":null}],"event_type":"pageview",\
            "visitor_id":"5F0C3B2A-1D4E-4F6A-9B8C-7D6E5F4A3B2C","id":"0190A5E2-7b3c-7d4e-8f00-123456789ABC",\
            "referrer":"https://ref.example/","schema":2}
            """
        let event = try ArchiveLine.decode(Array(line.utf8))
        #expect(event.id == knownID)
        #expect(event.visitorID == knownVisitor)
        #expect(event.eventType == "pageview")
        #expect(event.eventData == "{}")
        #expect(event.pageURL == nil)
        #expect(event.referrer == "https://ref.example/")
        #expect(event.createdAt == knownTime)

        let withNulls =
            #"{"id":"0190a5e2-7b3c-7d4e-8f00-123456789abc","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c","event_type":"x","event_data":null,"page_url":null,"referrer":null,"created_at":"2026-11-27T13:46:30.123Z"}"#
        let decoded = try ArchiveLine.decode(Array(withNulls.utf8))
        #expect(decoded.eventData == "{}" && decoded.pageURL == nil && decoded.referrer == nil)

        // Surrounding whitespace is JSON whitespace; event_data keeps its exact bytes, escapes included.
        let spaced =
            "  { \"event_data\" :\t{ \"k\" : \"\\u00e9\\\"\" } , \"id\":\"0190a5e2-7b3c-7d4e-8f00-123456789abc\",\"visitor_id\":\"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c\",\"event_type\":\"x\",\"created_at\":\"2026-11-27T13:46:30.123Z\" } "
        #expect(try ArchiveLine.decode(Array(spaced.utf8)).eventData == "{ \"k\" : \"\\u00e9\\\"\" }")
    }

    @Test func aLineWrittenBeforeDimensionsGetsThemFromItsURLsAndLosesThePageviewsUserAgent() throws {
        let line = """
            {"id":"0190a5e2-7b3c-7d4e-8f00-123456789abc","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c",\
            "event_type":"pageview","event_data":{"path":"/cv","method":"GET","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 \
            like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1"},\
            "page_url":"https://www.site.test/cv?utm_source=news","referrer":"https://www.google.com/",\
            "created_at":"2026-11-27T13:46:30.123Z"}
            """
        let event = try ArchiveLine.decode(Array(line.utf8))
        #expect(event.eventData == #"{"path":"/cv","method":"GET"}"#)
        var expected = EventDimensions()
        expected.host = "www.site.test"
        expected.path = "/cv"
        expected.referrerSource = "Google"
        expected.utmSource = "news"
        expected.browser = "Safari"
        expected.browserVersion = "Safari 18"
        expected.os = "iOS"
        expected.device = "mobile"
        #expect(event.dimensions == expected)

        // Another type keeps its data whole: a user agent there is what the site chose to send.
        let custom = line.replacingOccurrences(of: #""event_type":"pageview""#, with: #""event_type":"signup""#)
        #expect(try ArchiveLine.decode(Array(custom.utf8)).eventData.contains("user_agent"))
    }

    @Test func dimensionsThatAreNotStringsAreRefusedOnImport() throws {
        let line =
            #"{"id":"0190a5e2-7b3c-7d4e-8f00-123456789abc","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c","event_type":"x","created_at":"2026-11-27T13:46:30.123Z","dimensions":{"country":7}}"#
        #expect(throws: ArchiveLineError.self) { try ArchiveLine.decode(Array(line.utf8)) }
        let notObject =
            #"{"id":"0190a5e2-7b3c-7d4e-8f00-123456789abc","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c","event_type":"x","created_at":"2026-11-27T13:46:30.123Z","dimensions":[]}"#
        #expect(throws: ArchiveLineError.self) { try ArchiveLine.decode(Array(notObject.utf8)) }
    }

    @Test func eventDataOfAnySizeIsAcceptedOnImport() throws {
        let big = "{\"blob\":\"" + String(repeating: "a", count: 100_000) + "\"}"
        let event = AnalyticsEvent(id: knownID, visitorID: knownVisitor, eventType: "x", eventData: big, createdAt: 0)
        #expect(try ArchiveLine.decode(ArchiveLine.encode(event)) == event)
    }

    private static let valid: [String: String] = [
        "id": #""0190a5e2-7b3c-7d4e-8f00-123456789abc""#,
        "visitor_id": #""5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c""#,
        "event_type": #""pageview""#,
        "created_at": #""2026-11-27T13:46:30.123Z""#,
    ]

    /// A line with the valid fields, `changes` applied (a nil value removes the key).
    private static func line(_ changes: [String: String?]) -> String {
        var fields = valid
        for (key, value) in changes { fields[key] = value }
        return "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    @Test(arguments: [
        ("{\"id\":", "not valid JSON"),
        ("[1,2]", "not a JSON object"),
        ("{\"id\":\"x\",}", "not valid JSON"),
        (line(["id": nil]), "id: missing"),
        (line(["id": "null"]), "id: missing"),
        (line(["id": #""0190a5e2-7b3c-7d4e-8f00-123456789ab""#]), "id: not a UUID"),
        (line(["id": #""0190a5e27b3c7d4e8f00123456789abc""#]), "id: not a UUID"),
        (line(["id": "42"]), "id: not a UUID"),
        (line(["visitor_id": #""0190a5e2-7b3c-7d4e-8f00-123456789abg""#]), "visitor_id: not a UUID"),
        (line(["visitor_id": nil]), "visitor_id: missing"),
        (line(["event_type": nil]), "event_type: missing"),
        (line(["event_type": #""PageView""#]), "event_type: must be 1 to 50 characters"),
        (line(["event_type": #""""#]), "event_type: must be 1 to 50 characters"),
        (line(["event_type": "\"\(String(repeating: "a", count: 51))\""]), "event_type: must be 1 to 50"),
        (line(["event_type": "7"]), "event_type: must be"),
        (line(["event_data": #"[1]"#]), "event_data: must be a JSON object"),
        (line(["event_data": #""{}""#]), "event_data: must be a JSON object"),
        (line(["event_data": #"{"a":{"b":"x\u0000y"}}"#]), "event_data: the character U+0000"),
        (line(["event_data": #"{"a\u0000":1}"#]), "event_data: the character U+0000"),
        (line(["page_url": #""a\u0000b""#]), "page_url: must be null or a string"),
        (line(["page_url": "\"\(String(repeating: "u", count: 2049))\""]), "page_url: must be null or a string"),
        (line(["referrer": "17"]), "referrer: must be null or a string"),
        (line(["created_at": nil]), "created_at: missing"),
        (line(["created_at": "1795787190123"]), "created_at: must be an RFC 3339 timestamp string"),
        (line(["created_at": #""yesterday at noon""#]), "created_at: not an RFC 3339 timestamp: \"yesterday at noon\""),
        (line(["created_at": #""2026-11-27T13:46:30.123""#]), "created_at: not an RFC 3339 timestamp"),
        (line(["created_at": #""0000-12-31T23:59:59Z""#]), "created_at: outside the years 1 to 9999"),
        (line(["created_at": #""0001-01-01T00:30:00+01:00""#]), "created_at: outside the years 1 to 9999"),
    ])
    func decodingErrorsNameTheirReason(line: String, reason: String) {
        #expect {
            try ArchiveLine.decode(Array(line.utf8))
        } throws: { error in
            (error as? ArchiveLineError)?.reason.hasPrefix(reason) == true
        }
    }

    @Test func theLineHelperMakesAValidLine() throws {
        #expect(try ArchiveLine.decode(Array(Self.line([:]).utf8)).createdAt == knownTime)
    }

    @Test func errorMessagesShortenLongGarbage() throws {
        let garbage = String(repeating: "z", count: 500)
        do {
            _ = try ArchiveLine.decode(Array(Self.line(["created_at": "\"\(garbage)\""]).utf8))
            Issue.record("garbage accepted")
        } catch {
            #expect(error.reason.count < 100)
        }
    }
}

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test(
        arguments: [
            ("2026-11-27T13:46:30Z", 1_795_787_190_000),
            ("2026-11-27T13:46:30.1Z", 1_795_787_190_100),
            ("2026-11-27T13:46:30.12Z", 1_795_787_190_120),
            ("2026-11-27T13:46:30.123Z", 1_795_787_190_123),
            ("2026-11-27T13:46:30.123456Z", 1_795_787_190_123),
            ("2026-11-27T13:46:30.123999999Z", 1_795_787_190_123),  // truncated, not rounded
            ("2026-11-27T13:46:30.1234567890123Z", 1_795_787_190_123),
            ("2026-11-27T13:46:30.123+00:00", 1_795_787_190_123),
            ("2026-11-27T13:46:30.123-00:00", 1_795_787_190_123),
            ("2026-11-27T13:46:30.123+02:00", 1_795_779_990_123),
            ("2026-11-27T13:46:30.123-05:30", 1_795_806_990_123),
            ("2026-11-27t13:46:30.123z", 1_795_787_190_123),
            ("2026-11-27 15:46:30.123+02", 1_795_787_190_123),  // PostgreSQL's text output
            ("2026-11-27T15:46:30.123+0200", 1_795_787_190_123),
            ("2024-02-29T12:00:00Z", 1_709_208_000_000),  // leap day
            ("1600-02-29T06:07:08.009Z", -11_670_976_371_991),  // leap day of a leap century
            ("2026-12-31T23:30:00-01:00", 1_798_763_400_000),  // already the next year in UTC
            ("2027-01-01T00:30:00+01:00", 1_798_759_800_000),  // still the previous year in UTC
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59.999Z", -1),
            ("1969-12-31T23:59:59.9999Z", -1),
            ("1970-01-01T01:00:00.000+01:00", 0),
            ("1900-01-01T00:00:00Z", -2_208_988_800_000),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000),
            ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
            ("2016-12-31T23:59:60Z", 1_483_228_800_000),  // a leap second counts as the next minute's first
        ] as [(String, Int64)])
    func parses(text: String, milliseconds: Int64) {
        #expect(RFC3339.parse(text) == milliseconds)
    }

    @Test(arguments: [
        "", "garbage", "2026-11-27", "2026-11-27T13:46:30", "2026-11-27T13:46Z", "2026-11-27T13:46:30.Z",
        "2026-11-27T13:46:30.123", "2026-11-27T13:46:30ZZ", "2026-11-27T13:46:30Z ", " 2026-11-27T13:46:30Z",
        "2026-11-27T13:46:30+2:00", "2026-11-27T13:46:30+02:0", "2026-11-27T13:46:30+24:00",
        "2026-11-27T13:46:30+02:60", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-27T24:00:00Z",
        "2026-11-27T23:60:00Z", "2026-11-27T23:59:61Z", "26-11-27T13:46:30Z", "2026/11/27T13:46:30Z",
        "2026-11-27X13:46:30Z", "+2026-11-27T13:46:30Z", "2026-11-27T13:46:30,123Z", "２026-11-27T13:46:30Z",
    ])
    func refuses(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(
        arguments: [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-86_400_000, "1969-12-31T00:00:00.000Z"),
            (-86_400_001, "1969-12-30T23:59:59.999Z"),
            (1_795_787_190_123, "2026-11-27T13:46:30.123Z"),
            (1_795_787_190_005, "2026-11-27T13:46:30.005Z"),
            (1_709_208_000_000, "2024-02-29T12:00:00.000Z"),
            (1_798_761_599_999, "2026-12-31T23:59:59.999Z"),
            (1_798_761_600_000, "2027-01-01T00:00:00.000Z"),
            (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ] as [(Int64, String)])
    func formats(milliseconds: Int64, text: String) {
        #expect(RFC3339.format(milliseconds: milliseconds) == text)
        #expect(RFC3339.parse(text) == milliseconds)
    }

    @Test func formatAndParseAgreeAcrossTheRange() {
        var generator = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
        for _ in 0..<20_000 {
            let ms = Int64.random(in: StreamEntryCodec.validCreatedAt, using: &generator)
            #expect(RFC3339.parse(RFC3339.format(milliseconds: ms)) == ms)
        }
    }
}

@Suite("Archive files")
struct ArchiveFileTests {
    @Test func manyEventsRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let events = sampleEvents(count: 5000)
            let writer = try ArchiveWriter(temporaryPath: dir + "/events.tmp")
            for event in events { try writer.append(event) }
            #expect(writer.count == 5000)
            try writer.commit(to: dir + "/events.ndjson.gz")
            #expect(writer.count == 5000)
            #expect(try readAll(dir + "/events.ndjson.gz") == events)
        }
    }

    @Test func anEmptyArchiveIsAValidGzipFileWithoutEvents() throws {
        try withTemporaryDirectory { dir in
            try writeArchive([], to: dir + "/empty.gz")
            #expect(try readAll(dir + "/empty.gz").isEmpty)
            try gzip(["-t", dir + "/empty.gz"])
        }
    }

    @Test func gzipDecompressesWhatTheWriterWrote() throws {
        try withTemporaryDirectory { dir in
            let events = sampleEvents(count: 700)
            try writeArchive(events, to: dir + "/a.ndjson.gz")
            try gzip(["-dc", dir + "/a.ndjson.gz"], output: dir + "/a.ndjson")
            let text = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.ndjson"))
            let expected: [UInt8] = events.flatMap { ArchiveLine.encode($0) + [0x0A] }
            #expect(Array(text) == expected)
        }
    }

    @Test func readsAFileCompressedByGzip() throws {
        try withTemporaryDirectory { dir in
            let text = """
                {"id":"0190a5e2-7b3c-7d4e-8f00-123456789abc","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c","event_type":"pageview","event_data":{"path":"/"},"page_url":"https://example.com/","referrer":null,"created_at":"2026-11-27T13:46:30.123Z"}\r
                \r

                {"created_at":"2026-11-27T14:46:30+01:00","event_type":"cv_theme_view","event_data":{"theme":"dark"},"visitor_id":"5F0C3B2A-1D4E-4F6A-9B8C-7D6E5F4A3B2C","id":"0190A5E2-7B3C-7D4E-8F00-123456789ABD"}
                   
                {"id":"0190a5e2-7b3c-7d4e-8f00-123456789abe","visitor_id":"5f0c3b2a-1d4e-4f6a-9b8c-7d6e5f4a3b2c","event_type":"letter_generated","event_data":{"type":"motivation"},"created_at":"2026-11-27T13:46:30.999999Z"}
                """
            try write(text, to: dir + "/history.ndjson")
            try gzip(["-9", dir + "/history.ndjson"])
            #expect(!FileManager.default.fileExists(atPath: dir + "/history.ndjson"))
            let events = try readAll(dir + "/history.ndjson.gz")
            #expect(events.count == 3)
            #expect(events.map(\.eventType) == ["pageview", "cv_theme_view", "letter_generated"])
            #expect(events.map(\.createdAt) == [knownTime, knownTime - 123, knownTime + 876])
            #expect(events[0].pageURL == "https://example.com/")
            #expect(events[1].id == UUID(canonical: "0190a5e2-7b3c-7d4e-8f00-123456789abd"))
            #expect(events[1].eventData == #"{"theme":"dark"}"#)
            #expect(events[2].eventData == #"{"type":"motivation"}"#)
        }
    }

    @Test func readsConcatenatedGzipMembers() throws {
        try withTemporaryDirectory { dir in
            let first = sampleEvents(count: 1200)
            let second = sampleEvents(count: 345)
            try writeArchive(first, to: dir + "/1.gz")
            try writeArchive(second, to: dir + "/2.gz")
            var joined = try Data(contentsOf: URL(fileURLWithPath: dir + "/1.gz"))
            joined.append(try Data(contentsOf: URL(fileURLWithPath: dir + "/2.gz")))
            try joined.write(to: URL(fileURLWithPath: dir + "/both.gz"))
            let reader = try ArchiveReader(path: dir + "/both.gz")
            var events: [AnalyticsEvent] = []
            while let event = try reader.next() { events.append(event) }
            #expect(events == first + second)
            #expect(reader.compressedBytesRead == Int64(joined.count))
        }
    }

    @Test func readsPlainNDJSON() throws {
        try withTemporaryDirectory { dir in
            let events = sampleEvents(count: 300)
            let text = events.map { String(decoding: ArchiveLine.encode($0), as: UTF8.self) }.joined(separator: "\n")
            try write("\u{FEFF}" + text, to: dir + "/plain.ndjson")  // a byte order mark, and no final newline
            let reader = try ArchiveReader(path: dir + "/plain.ndjson")
            var read: [AnalyticsEvent] = []
            while let event = try reader.next() { read.append(event) }
            #expect(read == events)
            #expect(reader.isPlainText)
            #expect(reader.compressedBytesRead == reader.compressedSize)

            try writeArchive(events, to: dir + "/compressed.gz")
            let gzipReader = try ArchiveReader(path: dir + "/compressed.gz")
            #expect(try gzipReader.next() == events[0])
            #expect(!gzipReader.isPlainText)
        }
    }

    @Test func emptyAndBlankFilesHaveNoEvents() throws {
        try withTemporaryDirectory { dir in
            try write("", to: dir + "/empty")
            try write("\n\r\n  \n", to: dir + "/blank")
            #expect(try readAll(dir + "/empty").isEmpty)
            #expect(try readAll(dir + "/blank").isEmpty)
        }
    }

    @Test func badLinesReportTheirNumberAndReadingGoesOn() throws {
        try withTemporaryDirectory { dir in
            let good = sampleEvents(count: 2).map { String(decoding: ArchiveLine.encode($0), as: UTF8.self) }
            try write("\n\(good[0])\r\n{\"id\":1}\n\n\(good[1])\n{oops", to: dir + "/mixed.ndjson")
            let reader = try ArchiveReader(path: dir + "/mixed.ndjson")
            #expect(try reader.next() != nil)
            do {
                _ = try reader.next()
                Issue.record("line 3 accepted")
            } catch let error as ArchiveFileError {
                #expect(error.line == 3)
                #expect(error.reason == "id: not a UUID (8-4-4-4-12 hexadecimal digits)")
                #expect(error.path == dir + "/mixed.ndjson")
                #expect(error.description.hasPrefix(dir + "/mixed.ndjson:3: id: not a UUID"))
            }
            #expect(try reader.next() != nil)
            do {
                _ = try reader.next()
                Issue.record("line 6 accepted")
            } catch let error as ArchiveFileError {
                #expect(error.line == 6)
                #expect(error.reason.hasPrefix("not valid JSON"))
            }
            #expect(try reader.next() == nil)
        }
    }

    @Test func anOverlongLineIsRefusedAndSkipped() throws {
        try withTemporaryDirectory { dir in
            let events = sampleEvents(count: 2)
            let long = "{\"event_data\":{\"x\":\"" + String(repeating: "y", count: ArchiveReader.maximumLineLength) + "\"}}"
            let lines = [
                String(decoding: ArchiveLine.encode(events[0]), as: UTF8.self), long,
                String(decoding: ArchiveLine.encode(events[1]), as: UTF8.self),
            ]
            try write(lines.joined(separator: "\n") + "\n", to: dir + "/long.ndjson")
            try gzip([dir + "/long.ndjson"])
            let reader = try ArchiveReader(path: dir + "/long.ndjson.gz")
            #expect(try reader.next() == events[0])
            #expect {
                try reader.next()
            } throws: { error in
                (error as? ArchiveFileError)?.line == 2
                    && (error as? ArchiveFileError)?.reason.contains("line longer than") == true
            }
            #expect(try reader.next() == events[1])
            #expect(try reader.next() == nil)
        }
    }

    @Test func aLongLineUnderTheLimitIsRead() throws {
        try withTemporaryDirectory { dir in
            let data = "{\"blob\":\"" + String(repeating: "é", count: 400_000) + "\"}"  // 800 KB
            let event = AnalyticsEvent(id: knownID, visitorID: knownVisitor, eventType: "x", eventData: data, createdAt: 1)
            let small = sampleEvents(count: 3)
            try writeArchive([small[0], event, small[1], event, small[2]], to: dir + "/big.gz")
            #expect(try readAll(dir + "/big.gz") == [small[0], event, small[1], event, small[2]])
        }
    }

    @Test(arguments: ["half", "trailer", "oneByte"])
    func aTruncatedFileIsAnErrorNotAnEnd(cut: String) throws {
        try withTemporaryDirectory { dir in
            let events = sampleEvents(count: 4000)
            try writeArchive(events, to: dir + "/full.gz")
            let full = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.gz"))
            let keep =
                switch cut {
                case "half": full.count / 2
                case "trailer": full.count - 4  // the data is all there, the length check is not
                default: full.count - 1
                }
            try full.prefix(keep).write(to: URL(fileURLWithPath: dir + "/cut.gz"))
            let reader = try ArchiveReader(path: dir + "/cut.gz")
            var read = 0
            var failure: ArchiveFileError?
            do {
                while try reader.next() != nil { read += 1 }
            } catch let error as ArchiveFileError {
                failure = error
            }
            let error = try #require(failure, "a truncated file read as \(read) events and a clean end")
            #expect(error.reason.contains("truncated"))
            #expect(error.line == read + 1)
            // Cut inside the data, some events are lost; cut inside the trailer, all arrived, but unchecked.
            #expect(cut == "half" ? read < events.count : read <= events.count)
            // It stays an error: a second call does not turn it into an end of file.
            #expect(throws: ArchiveFileError.self) { try reader.next() }
        }
    }

    @Test func corruptDataIsAnError() throws {
        try withTemporaryDirectory { dir in
            try writeArchive(sampleEvents(count: 4000), to: dir + "/full.gz")
            var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/full.gz"))
            for i in stride(from: bytes.count / 3, to: bytes.count / 3 + 64, by: 1) { bytes[i] ^= 0x5A }
            try bytes.write(to: URL(fileURLWithPath: dir + "/bad.gz"))
            #expect(throws: ArchiveFileError.self) { try readAll(dir + "/bad.gz") }
        }
    }

    @Test func aMissingFileIsAnError() throws {
        try withTemporaryDirectory { dir in
            do {
                _ = try ArchiveReader(path: dir + "/absent.gz")
                Issue.record("opened a missing file")
            } catch let error as ArchiveFileError {
                #expect(error.path == dir + "/absent.gz")
                #expect(error.reason.contains("No such file"))
            }
            #expect(throws: ArchiveFileError.self) { try ArchiveWriter(temporaryPath: dir + "/no/such/dir/x.tmp") }
        }
    }

    @Test func commitPublishesAtomically() throws {
        try withTemporaryDirectory { dir in
            let temporary = dir + "/.2026-08-29.ndjson.gz.tmp"
            let final = dir + "/2026-08-29.ndjson.gz"
            try write("an older archive", to: final)
            let events = sampleEvents(count: 50)
            let writer = try ArchiveWriter(temporaryPath: temporary)
            #expect(FileManager.default.fileExists(atPath: temporary))
            for event in events { try writer.append(event) }
            // Until the commit, the final name still shows the previous file, whole.
            #expect(try String(contentsOfFile: final, encoding: .utf8) == "an older archive")
            try writer.commit(to: final)
            #expect(!FileManager.default.fileExists(atPath: temporary))
            #expect(FileManager.default.fileExists(atPath: final))
            #expect(try readAll(final) == events)
            #expect(throws: ArchiveFileError.self) { try writer.append(events[0]) }
            #expect(throws: ArchiveFileError.self) { try writer.commit(to: final) }
            writer.abandon()  // after a commit: nothing to undo
            #expect(try readAll(final) == events)
        }
    }

    @Test func commitToAnotherDirectory() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/staging", withIntermediateDirectories: false)
            try FileManager.default.createDirectory(atPath: dir + "/archive", withIntermediateDirectories: false)
            let events = sampleEvents(count: 5)
            let writer = try ArchiveWriter(temporaryPath: dir + "/staging/x.tmp")
            for event in events { try writer.append(event) }
            try writer.commit(to: dir + "/archive/x.ndjson.gz")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/staging").isEmpty)
            #expect(try readAll(dir + "/archive/x.ndjson.gz") == events)
        }
    }

    @Test func abandonRemovesTheTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            let temporary = dir + "/x.tmp"
            let writer = try ArchiveWriter(temporaryPath: temporary)
            for event in sampleEvents(count: 2000) { try writer.append(event) }
            #expect(FileManager.default.fileExists(atPath: temporary))
            writer.abandon()
            #expect(!FileManager.default.fileExists(atPath: temporary))
            #expect(throws: ArchiveFileError.self) { try writer.append(sampleEvents(count: 1)[0]) }
            #expect(throws: ArchiveFileError.self) { try writer.commit(to: dir + "/x.gz") }
            writer.abandon()
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    @Test func progressCountersGrowToTheFileSize() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/big.gz"
            try writeArchive(sampleEvents(count: 20_000), to: path)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let reader = try ArchiveReader(path: path)
            #expect(reader.compressedSize == Int64(size))
            #expect(reader.compressedBytesRead == 0)
            var last: Int64 = 0
            var intermediate = Set<Int64>()
            var count = 0
            while try reader.next() != nil {
                count += 1
                let now = reader.compressedBytesRead
                #expect(now >= last && now <= reader.compressedSize)
                if now > 0 && now < reader.compressedSize { intermediate.insert(now) }
                last = now
            }
            #expect(count == 20_000)
            #expect(intermediate.count > 2, "progress moved in steps: \(intermediate.sorted())")
            #expect(reader.compressedBytesRead == reader.compressedSize)
            #expect(try reader.next() == nil)
            #expect(reader.compressedBytesRead == reader.compressedSize)
        }
    }
}
