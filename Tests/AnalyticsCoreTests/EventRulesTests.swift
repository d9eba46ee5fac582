import AnalyticsCore
import Testing

@Suite("EventRules.validate")
struct EventRulesTests {
    private func validate(_ body: String, referer: String? = nil) -> Result<ValidatedEventBody, EventRejection> {
        EventRules.validate(body: Array(body.utf8), refererHeader: referer)
    }

    private func accepted(_ body: String, referer: String? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        -> ValidatedEventBody?
    {
        switch validate(body, referer: referer) {
        case .success(let value):
            return value
        case .failure(let rejection):
            Issue.record("refused (\(rejection.rule)): \(rejection.message)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Asserts the body is refused under `rule` with `status`.
    private func expectRejected(
        _ body: [UInt8], referer: String? = nil, rule: String, status: Int = 400,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch EventRules.validate(body: body, refererHeader: referer) {
        case .success:
            Issue.record("accepted, expected \(rule)", sourceLocation: sourceLocation)
        case .failure(let rejection):
            #expect(rejection.rule == rule, sourceLocation: sourceLocation)
            #expect(rejection.status == status, sourceLocation: sourceLocation)
            #expect(!rejection.message.isEmpty, sourceLocation: sourceLocation)
            #expect(EventRules.ruleNames.contains(rejection.rule), sourceLocation: sourceLocation)
        }
    }

    private func expectRejected(
        _ body: String, referer: String? = nil, rule: String, status: Int = 400,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectRejected(Array(body.utf8), referer: referer, rule: rule, status: status, sourceLocation: sourceLocation)
    }

    private func event(_ type: String = "click", data: String? = nil, extra: String = "") -> String {
        var body = #"{"event_type":"\#(type)""#
        if let data { body += #","event_data":\#(data)"# }
        return body + extra + "}"
    }

    // MARK: body

    @Test func minimalEvent() throws {
        let v = try #require(accepted(#"{"event_type":"click"}"#))
        #expect(v.eventType == "click")
        #expect(v.eventData == "{}")
        #expect(v.pageURL == nil)
        #expect(v.referrer == nil)
    }

    @Test func bodySize() throws {
        let base = #"{"event_type":"click"}"#
        let atLimit = base + String(repeating: " ", count: EventRules.maximumBodyBytes - base.utf8.count)
        #expect(atLimit.utf8.count == 16_384)
        #expect(accepted(atLimit)?.eventType == "click")
        expectRejected(atLimit + " ", rule: "body.size", status: 413)
        // The size is checked before anything else: an oversized non-JSON body is a 413 too.
        expectRejected([UInt8](repeating: 0x78, count: 20_000), rule: "body.size", status: 413)
    }

    @Test(arguments: ["", "{", "not json", #"{"event_type":"click",}"#, #"{"event_type":'click'}"#, "{} {}"])
    func bodyJSON(body: String) {
        expectRejected(body, rule: "body.json")
    }

    @Test func bodyJSONInvalidUTF8() {
        expectRejected(Array(#"{"event_type":"cl"#.utf8) + [0xFF] + Array(#"ick"}"#.utf8), rule: "body.json")
    }

    @Test(arguments: ["[]", #"[{"event_type":"click"}]"#, #""click""#, "1", "null", "true"])
    func bodyObject(body: String) {
        expectRejected(body, rule: "body.object")
    }

    // MARK: event_type

    @Test(arguments: ["{}", #"{"event_type":null}"#, #"{"event_data":{}}"#, #"{"type":"click"}"#])
    func eventTypeRequired(body: String) {
        expectRejected(body, rule: "event_type.required")
    }

    @Test(arguments: [
        #"{"event_type":""}"#,
        #"{"event_type":"\#(String(repeating: "a", count: 51))"}"#,
        #"{"event_type":"Click"}"#,
        #"{"event_type":"PAGEVIEW"}"#,
        #"{"event_type":"page view"}"#,
        #"{"event_type":"page/view"}"#,
        #"{"event_type":"caf\u00e9"}"#,
        #"{"event_type":"tab\t"}"#,
        #"{"event_type":1}"#,
        #"{"event_type":true}"#,
        #"{"event_type":["click"]}"#,
        #"{"event_type":{"name":"click"}}"#,
    ])
    func eventTypeFormat(body: String) {
        expectRejected(body, rule: "event_type.format")
    }

    @Test func eventTypeLimitsAndAlphabet() throws {
        let fifty = String(repeating: "a", count: 50)
        #expect(accepted(event(fifty))?.eventType == fifty)
        #expect(accepted(event("a"))?.eventType == "a")
        #expect(accepted(event("abc.xyz:0-9_q"))?.eventType == "abc.xyz:0-9_q")
        #expect(EventRules.isValidEventType("cv_theme_view"))
        #expect(!EventRules.isValidEventType(""))
        #expect(!EventRules.isValidEventType(String(repeating: "a", count: 51)))
        #expect(!EventRules.isValidEventType("a b"))
        #expect(!EventRules.isValidEventType("aé"))
        // The last duplicate wins, as in jsonb.
        #expect(accepted(#"{"event_type":"BAD","event_type":"ok"}"#)?.eventType == "ok")
        expectRejected(#"{"event_type":"ok","event_type":"BAD"}"#, rule: "event_type.format")
    }

    // MARK: event_data

    @Test(arguments: ["[]", "[1,2]", #""x""#, "1", "true"])
    func eventDataObject(data: String) {
        expectRejected(event(data: data), rule: "event_data.object")
    }

    @Test func eventDataAbsentOrNullIsAnEmptyObject() throws {
        #expect(accepted(event())?.eventData == "{}")
        #expect(accepted(event(data: "null"))?.eventData == "{}")
        #expect(accepted(event(data: "{}"))?.eventData == "{}")
    }

    @Test func eventDataIsPassedThroughByteForByte() throws {
        let data = #"{ "b" : [1, 2.50 ,{"x" :null}] ,\#t"a":"caf\u00e9 \"q\"", "é": "😀" }"#
        let v = try #require(accepted(#"{ "event_data" :  "# + data + #"  , "event_type":"click" }"#))
        #expect(v.eventData == data)
    }

    private func keys(_ n: Int) -> String {
        "{" + (0..<n).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}"
    }

    @Test func eventDataKeys() {
        #expect(accepted(event(data: keys(32))) != nil)
        expectRejected(event(data: keys(33)), rule: "event_data.keys")
        // Duplicate names count as members.
        let duplicates = "{" + Array(repeating: #""k":1"#, count: 33).joined(separator: ",") + "}"
        expectRejected(event(data: duplicates), rule: "event_data.keys")
        // Keys of nested objects do not count against the top level.
        #expect(accepted(event(data: #"{"a":\#(keys(32))}"#)) != nil)
    }

    @Test(arguments: [
        #"{"a":{"b":{"c":1}}}"#, #"{"a":[[1]]}"#, #"{"a":{"b":[1]}}"#, #"{"a":[{}]}"#, #"{"a":[]}"#, "{}",
    ])
    func eventDataDepthWithinLimit(data: String) throws {
        #expect(accepted(event(data: data))?.eventData == data)
    }

    @Test(arguments: [
        #"{"a":{"b":{"c":{}}}}"#, #"{"a":[[[1]]]}"#, #"{"a":{"b":[[]]}}"#, #"{"a":[{"b":[]}]}"#,
        #"{"x":1,"a":{"b":{"c":{"d":{"e":1}}}}}"#,
    ])
    func eventDataDepthBeyondLimit(data: String) {
        expectRejected(event(data: data), rule: "event_data.depth")
    }

    @Test func eventDataSize() throws {
        // {"k":"xxx…"} is 8 bytes of syntax plus the filler.
        let atLimit = #"{"k":""# + String(repeating: "x", count: 8192 - 8) + #""}"#
        #expect(atLimit.utf8.count == 8192)
        #expect(accepted(event(data: atLimit))?.eventData == atLimit)
        let over = #"{"k":""# + String(repeating: "x", count: 8192 - 7) + #""}"#
        expectRejected(event(data: over), rule: "event_data.size", status: 413)
        // Whitespace inside the object counts: it is forwarded as is.
        let padded = "{" + String(repeating: " ", count: 8192 - 1) + "}"
        expectRejected(event(data: padded), rule: "event_data.size", status: 413)
        // Multi-byte characters count in bytes.
        let wide = #"{"k":""# + String(repeating: "é", count: 4093) + #""}"#  // 8 + 8186 bytes
        expectRejected(event(data: wide), rule: "event_data.size", status: 413)
    }

    @Test func eventDataNUL() {
        expectRejected(event(data: #"{"a":"\u0000"}"#), rule: "event_data.nul")
        expectRejected(event(data: #"{"a":{"b":["x\u0000y"]}}"#), rule: "event_data.nul")
        expectRejected(event(data: #"{"\u0000":1}"#), rule: "event_data.nul")
        #expect(accepted(event(data: #"{"a":"\u0001"}"#)) != nil)
    }

    // MARK: domain events

    @Test func themeView() throws {
        let v = try #require(accepted(event("cv_theme_view", data: #"{"theme":"dark"}"#)))
        #expect(v.eventData == #"{"theme":"dark"}"#)
        let sixtyFour = String(repeating: "t", count: 64)
        #expect(accepted(event("cv_theme_view", data: #"{"theme":"\#(sixtyFour)"}"#)) != nil)
        let unicode = String(repeating: "é", count: 64)  // 64 characters, 128 bytes
        #expect(accepted(event("cv_theme_view", data: #"{"theme":"\#(unicode)"}"#)) != nil)
    }

    @Test(
        arguments: [
            nil, "null", "{}", #"{"theme":""}"#, #"{"theme":null}"#, #"{"theme":1}"#, #"{"theme":["dark"]}"#,
            #"{"Theme":"dark"}"#, #"{"theme":"\#(String(repeating: "t", count: 65))"}"#, #"{"theme":"dark\n"}"#,
            #"{"theme":"a\tb"}"#, #"{"theme":"\u001f"}"#, #"{"theme":"del\u007f"}"#,
        ] as [String?])
    func themeViewRefused(data: String?) {
        expectRejected(event("cv_theme_view", data: data), rule: "event_data.theme")
    }

    @Test func letterGenerated() throws {
        #expect(accepted(event("letter_generated", data: #"{"type":"motivation"}"#)) != nil)
        #expect(accepted(event("letter_generated", data: #"{"type":"anti_motivation","words":120}"#)) != nil)
    }

    @Test(
        arguments: [
            nil, "{}", #"{"type":"other"}"#, #"{"type":"Motivation"}"#, #"{"type":""}"#, #"{"type":null}"#,
            #"{"type":1}"#, #"{"kind":"motivation"}"#,
        ] as [String?])
    func letterGeneratedRefused(data: String?) {
        expectRejected(event("letter_generated", data: data), rule: "event_data.letter_type")
    }

    @Test func otherTypesNeedNoThemeOrLetterType() {
        #expect(accepted(event("theme_view", data: "{}")) != nil)
        #expect(accepted(event("pageview")) != nil)
    }

    // MARK: page_url and referrer

    @Test func pageURLAndReferrerLength() throws {
        let url2048 = "https://example.com/" + String(repeating: "p", count: 2048 - 20)
        #expect(url2048.count == 2048)
        let v = try #require(accepted(event(extra: #","page_url":"\#(url2048)","referrer":"\#(url2048)""#)))
        #expect(v.pageURL == url2048)
        #expect(v.referrer == url2048)
        expectRejected(event(extra: #","page_url":"\#(url2048)x""#), rule: "page_url.format")
        expectRejected(event(extra: #","referrer":"\#(url2048)x""#), rule: "referrer.format")
        // Characters, not bytes: 2,048 two-byte characters are allowed.
        let wide = String(repeating: "é", count: 2048)
        #expect(accepted(event(extra: #","page_url":"\#(wide)""#))?.pageURL == wide)
    }

    @Test(arguments: ["1", "true", "{}", #"["/"]"#, #""a\u0000b""#])
    func pageURLMustBeAString(value: String) {
        expectRejected(event(extra: #","page_url":\#(value)"#), rule: "page_url.format")
        expectRejected(event(extra: #","referrer":\#(value)"#), rule: "referrer.format")
    }

    @Test func refererHeaderIsTheDefaultPageURL() throws {
        let fromHeader = try #require(accepted(event(), referer: "https://example.com/cv"))
        #expect(fromHeader.pageURL == "https://example.com/cv")
        #expect(fromHeader.referrer == nil)  // the header is not the body's referrer

        let overridden = try #require(accepted(event(extra: #","page_url":"/blog""#), referer: "https://example.com/cv"))
        #expect(overridden.pageURL == "/blog")

        let nullInBody = try #require(accepted(event(extra: #","page_url":null"#), referer: "https://example.com/cv"))
        #expect(nullInBody.pageURL == "https://example.com/cv")

        #expect(accepted(event(), referer: "")?.pageURL == nil)
        #expect(accepted(event(), referer: nil)?.pageURL == nil)
        // An unusable header is ignored, not a reason to refuse the event.
        let tooLong = "https://example.com/" + String(repeating: "x", count: 2048)
        #expect(accepted(event(), referer: tooLong)?.pageURL == nil)

        let both = try #require(accepted(event(extra: #","referrer":"https://search.example/""#), referer: "/cv"))
        #expect(both.pageURL == "/cv")
        #expect(both.referrer == "https://search.example/")
    }

    @Test func unknownFieldsAreIgnored() throws {
        let v = try #require(accepted(event(extra: #","visitor_id":"x","extra":{"a":[[[[1]]]]}"#)))
        #expect(v.eventType == "click")
        #expect(v.eventData == "{}")
    }

    @Test func ruleOrder() {
        // event_type is checked before event_data, event_data before page_url.
        expectRejected(#"{"event_type":"BAD","event_data":[]}"#, rule: "event_type.format")
        expectRejected(#"{"event_data":[],"page_url":1}"#, rule: "event_type.required")
        expectRejected(event(data: "[]", extra: #","page_url":1"#), rule: "event_data.object")
        expectRejected(event("cv_theme_view", data: "{}", extra: #","page_url":1"#), rule: "event_data.theme")
        expectRejected(event(extra: #","page_url":1,"referrer":1"#), rule: "page_url.format")
    }

    @Test func everyRuleNameIsDeclaredOnce() {
        #expect(EventRules.ruleNames.count == 15)
        #expect(Set(EventRules.ruleNames).count == EventRules.ruleNames.count)
    }

    @Test func themeValidator() {
        #expect(EventRules.isValidTheme("dark"))
        #expect(EventRules.isValidTheme(String(repeating: "x", count: 64)))
        #expect(!EventRules.isValidTheme(String(repeating: "x", count: 65)))
        #expect(!EventRules.isValidTheme(""))
        #expect(!EventRules.isValidTheme("a\u{7F}"))
        #expect(!EventRules.isValidTheme("a\u{0}"))
        #expect(EventRules.isValidURLField(""))
        #expect(!EventRules.isValidURLField("a\u{0}"))
    }
}

@Suite("Themes shown on dashboards")
struct ThemeCharacterTests {
    @Test(arguments: [
        "a\u{202E}b", "\u{200B}", "x\u{200D}y", "\u{2066}x\u{2069}", "x\u{FEFF}", "x\u{061C}", "a\u{0085}b", "a\u{2028}b",
        "x\u{E0041}", "x\u{00AD}y",
    ])
    func bidiInvisibleAndControlCharactersAreRefused(theme: String) {
        #expect(!EventRules.isValidTheme(theme))
    }

    @Test(arguments: ["backend", "Développement", "データ", "C++ & Go", "👩‍💻"])
    func ordinaryTextIsAccepted(theme: String) {
        // The emoji's joiner (U+200D) is a zero-width character: refused too.
        #expect(EventRules.isValidTheme(theme) == !theme.unicodeScalars.contains("\u{200D}"))
    }
}
