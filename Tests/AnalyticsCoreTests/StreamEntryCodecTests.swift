import AnalyticsCore
import Foundation
import Testing

@Suite("StreamEntryCodec and RealtimeDimension")
struct StreamEntryCodecTests {
    static let eventID = UUID(uuidString: "01936f5e-1c2d-7a3b-8c4d-5e6f708192a3")!
    static let visitorID = UUID(uuidString: "A1B2C3D4-E5F6-4789-8ABC-DEF012345678")!

    private func pairs(_ flat: [String]) -> [(String, String)] {
        stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }

    private func full() -> AnalyticsEvent {
        AnalyticsEvent(
            id: Self.eventID, visitorID: Self.visitorID, eventType: "cv_theme_view",
            eventData: #"{"theme":"dark","n":[1, 2]}"#, pageURL: "https://example.com/cv?x=1",
            referrer: "https://search.example/", createdAt: 1_795_737_600_123)
    }

    @Test func fieldsAreTheXADDPairsInOrder() {
        #expect(
            StreamEntryCodec.fields(of: full()) == [
                "id", "01936f5e-1c2d-7a3b-8c4d-5e6f708192a3",
                "vid", "a1b2c3d4-e5f6-4789-8abc-def012345678",
                "type", "cv_theme_view",
                "ts", "1795737600123",
                "data", #"{"theme":"dark","n":[1, 2]}"#,
                "url", "https://example.com/cv?x=1",
                "ref", "https://search.example/",
                "dims", "1\t\t\t\t\t\t\t\t\t\t\t",
            ])
    }

    @Test func optionalURLAndReferrerAreOmitted() {
        let bare = AnalyticsEvent(id: Self.eventID, visitorID: Self.visitorID, eventType: "click", createdAt: 5)
        let fields = StreamEntryCodec.fields(of: bare)
        #expect(
            fields == [
                "id", "01936f5e-1c2d-7a3b-8c4d-5e6f708192a3", "vid", "a1b2c3d4-e5f6-4789-8abc-def012345678",
                "type", "click", "ts", "5", "data", "{}", "dims", EventDimensions().packed,
            ])
        var onlyRef = bare
        onlyRef.referrer = "r"
        #expect(StreamEntryCodec.fields(of: onlyRef).dropLast(2).suffix(2) == ["ref", "r"])
        #expect(!StreamEntryCodec.fields(of: onlyRef).contains("url"))
    }

    @Test func roundTrip() throws {
        var event = full()
        #expect(try StreamEntryCodec.decode(pairs(StreamEntryCodec.fields(of: event))) == event)
        event.dimensions = EventDimensions(
            pageURL: event.pageURL, referrer: event.referrer,
            userAgent: UserAgentDimensions(browser: "Edge", browserMajor: "131", os: "Windows", device: .desktop), country: "SE")
        #expect(try StreamEntryCodec.decode(pairs(StreamEntryCodec.fields(of: event))) == event)

        var bare = event
        bare.pageURL = nil
        bare.referrer = nil
        bare.eventData = "{}"
        let decoded = try StreamEntryCodec.decode(pairs(StreamEntryCodec.fields(of: bare)))
        #expect(decoded == bare)
        #expect(decoded.pageURL == nil)
        #expect(decoded.referrer == nil)

        var old = event
        old.createdAt = -1_000
        #expect(try StreamEntryCodec.decode(pairs(StreamEntryCodec.fields(of: old))).createdAt == -1_000)
    }

    @Test func decodeToleratesOrderUnknownFieldsAndMissingData() throws {
        let event = try StreamEntryCodec.decode([
            ("extra", "ignored"), ("ts", "42"), ("type", "click"),
            ("vid", "a1b2c3d4-e5f6-4789-8abc-def012345678"), ("id", "01936f5e-1c2d-7a3b-8c4d-5e6f708192a3"),
        ])
        #expect(event.id == Self.eventID)
        #expect(event.visitorID == Self.visitorID)
        #expect(event.eventType == "click")
        #expect(event.createdAt == 42)
        #expect(event.eventData == "{}")
        #expect(event.pageURL == nil)
        #expect(event.referrer == nil)
        // Written before dimensions existed: they are empty.
        #expect(event.dimensions == EventDimensions())
    }

    @Test(arguments: [
        ("id", "missing or malformed field id"),
        ("vid", "missing or malformed field vid"),
        ("type", "missing or malformed field type"),
        ("ts", "missing or malformed field ts"),
    ])
    func decodeRefusesAMissingField(field: String, reason: String) {
        let all = pairs(StreamEntryCodec.fields(of: full()))
        do {
            _ = try StreamEntryCodec.decode(all.filter { $0.0 != field })
            Issue.record("decoded without \(field)")
        } catch {
            #expect(error.reason == reason)
            #expect(error.description == reason)
        }
    }

    @Test(arguments: [
        ("id", "not-a-uuid"), ("vid", ""), ("type", "Not Valid"), ("type", ""), ("ts", "12.5"), ("ts", "abc"),
        ("ts", ""), ("dims", ""), ("dims", "2\t\t\t\t\t\t\t\t\t\t\t"), ("dims", "1\tonly two"),
    ])
    func decodeRefusesAMalformedField(field: String, value: String) {
        let all = pairs(StreamEntryCodec.fields(of: full())).map { $0.0 == field ? ($0.0, value) : $0 }
        #expect(throws: StreamEntryCodec.DecodingError.self) {
            try StreamEntryCodec.decode(all)
        }
    }

    // MARK: RealtimeDimension

    @Test func dimensions() {
        #expect(RealtimeDimension.of(eventType: "cv_theme_view", eventData: #"{"theme":"dark"}"#) == .theme("dark"))
        #expect(RealtimeDimension.of(eventType: "cv_theme_view", eventData: #"{"theme":"a","theme":"b"}"#) == .theme("b"))
        #expect(RealtimeDimension.of(eventType: "letter_generated", eventData: #"{"type":"motivation"}"#) == .letter("motivation"))
        #expect(
            RealtimeDimension.of(eventType: "letter_generated", eventData: #"{"type":"anti_motivation"}"#)
                == .letter("anti_motivation"))
    }

    @Test(arguments: [
        ("pageview", #"{"theme":"dark","type":"motivation"}"#),
        ("click", "{}"),
        ("cv_theme_view", "{}"),
        ("cv_theme_view", #"{"theme":""}"#),
        ("cv_theme_view", #"{"theme":7}"#),
        ("cv_theme_view", #"{"theme":"a\nb"}"#),
        ("cv_theme_view", "not json"),
        ("cv_theme_view", #"{"theme":"\#(String(repeating: "x", count: 65))"}"#),
        ("letter_generated", #"{"type":"other"}"#),
        ("letter_generated", #"{"theme":"dark"}"#),
        ("letter_generated", "[]"),
        ("theme_view", #"{"theme":"dark"}"#),
    ])
    func noDimension(type: String, data: String) {
        #expect(RealtimeDimension.of(eventType: type, eventData: data) == .none)
    }
}
