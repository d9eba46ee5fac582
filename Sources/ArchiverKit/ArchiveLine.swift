import AnalyticsCore
import Foundation

/// One archived event as a line of NDJSON:
///
///     {"id":"…","visitor_id":"…","event_type":"pageview","event_data":{…},"page_url":"…","referrer":null,"created_at":"2026-11-27T13:46:30.123Z",
///      "dimensions":{"host":"…","path":"…","referrer_source":"","utm_source":"",…,"country":"FR"}}
///
/// (one line in the file). `dimensions` holds the event's ``EventDimensions`` under the names of their
/// columns. Lines without it (files written before dimensions existed, or by other tools) get the
/// dimensions their URLs give, and those of the user agent that pageviews recorded by the tracking
/// middleware used to keep in `event_data`, which is dropped from them: no raw user agent is stored.
///
/// Writing is strict and fixed (key order, lower-case UUIDs, UTC with milliseconds); reading is lenient in
/// form (key order, extra keys, UUID case, timestamp offsets and precision) so that history exported by
/// other tools can be imported, but applies the gateway's rules where they matter for storage.
///
/// ``ArchiveWriter`` writes these lines and ``ArchiveReader`` reads them.
public enum ArchiveLine {
    /// The line of `event`, without a trailing newline.
    ///
    /// `eventData` is embedded as it is: it must be JSON object text (the gateway and PostgreSQL's jsonb
    /// only produce that). Line breaks in it can only be insignificant whitespace and are written as
    /// spaces, so that the line stays one line; every other byte is kept.
    public static func encode(_ event: AnalyticsEvent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192 + event.eventData.utf8.count)
        append(event, to: &out)
        return out
    }

    /// Appends the line of `event` (without a newline) to `out`: the writer's allocation-free path.
    public static func append(_ event: AnalyticsEvent, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"id":""#.utf8)
        appendUUID(event.id, to: &out)
        out.append(contentsOf: #"","visitor_id":""#.utf8)
        appendUUID(event.visitorID, to: &out)
        out.append(contentsOf: #"","event_type":"#.utf8)
        JSONText.appendQuoted(event.eventType, to: &out)
        out.append(contentsOf: #","event_data":"#.utf8)
        let data = event.eventData.utf8
        if data.isEmpty {
            out.append(contentsOf: "{}".utf8)
        } else if data.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            for byte in data { out.append(byte == 0x0A || byte == 0x0D ? 0x20 : byte) }
        } else {
            out.append(contentsOf: data)
        }
        out.append(contentsOf: #","page_url":"#.utf8)
        appendOptional(event.pageURL, to: &out)
        out.append(contentsOf: #","referrer":"#.utf8)
        appendOptional(event.referrer, to: &out)
        out.append(contentsOf: #","created_at":""#.utf8)
        RFC3339.append(milliseconds: event.createdAt, to: &out)
        out.append(contentsOf: #"","dimensions":{"#.utf8)
        for (index, name) in EventDimensions.Name.allCases.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.rawValue.utf8)
            out.append(contentsOf: #"":"#.utf8)
            JSONText.appendQuoted(event.dimensions[name], to: &out)
        }
        out.append(contentsOf: "}}".utf8)
    }

    /// Reads one line (without its line break). Keys may come in any order and unknown keys are ignored;
    /// `event_data` absent or null is `{}`; `created_at` may carry any offset and precision.
    ///
    /// - Throws: ``ArchiveLineError`` naming the field at fault when the line is not JSON, not an
    ///   object, or breaks a rule the stored event must keep (ids that are UUIDs, a valid event type,
    ///   `event_data` an object without U+0000, bounded URLs, a time within the years 1 to 9999).
    public static func decode(_ line: some Collection<UInt8>) throws(ArchiveLineError) -> AnalyticsEvent {
        let bytes = Array(line)
        let root: JSONValue
        do {
            root = try JSONScanner.parse(bytes)
        } catch {
            throw ArchiveLineError(reason: "not valid JSON (\(error))")
        }
        guard root.kind == .object else { throw ArchiveLineError(reason: "not a JSON object") }

        let id = try uuid(root, "id")
        let visitorID = try uuid(root, "visitor_id")

        guard let typeValue = root["event_type"], typeValue.kind != .null else {
            throw ArchiveLineError(reason: "event_type: missing")
        }
        guard let eventType = typeValue.string, EventRules.isValidEventType(eventType) else {
            throw ArchiveLineError(reason: "event_type: must be 1 to 50 characters of [a-z0-9_.:-]")
        }

        var eventData = "{}"
        var recordedUserAgent: String?
        if let value = root["event_data"], value.kind != .null {
            guard value.kind == .object else { throw ArchiveLineError(reason: "event_data: must be a JSON object") }
            guard !value.containsNUL else {
                throw ArchiveLineError(reason: "event_data: the character U+0000 is not allowed")
            }
            // Before dimensions existed the tracking middleware kept the user agent in a pageview's
            // data; it goes once the dimensions are taken from it.
            if eventType == DomainEvent.pageview, root["dimensions"] == nil, let agent = value["user_agent"] {
                recordedUserAgent = agent.string ?? ""
                eventData = objectText(value, without: "user_agent", in: bytes)
            } else {
                eventData = String(decoding: bytes[value.span], as: UTF8.self)
            }
        }

        let pageURL = try urlField(root, "page_url")
        let referrer = try urlField(root, "referrer")

        guard let timeValue = root["created_at"], timeValue.kind != .null else {
            throw ArchiveLineError(reason: "created_at: missing")
        }
        guard let timeText = timeValue.string else {
            throw ArchiveLineError(reason: "created_at: must be an RFC 3339 timestamp string")
        }
        guard let createdAt = RFC3339.parse(timeText) else {
            throw ArchiveLineError(reason: "created_at: not an RFC 3339 timestamp: \(excerpt(timeText))")
        }
        guard StreamEntryCodec.validCreatedAt.contains(createdAt) else {
            throw ArchiveLineError(reason: "created_at: outside the years 1 to 9999 in UTC: \(excerpt(timeText))")
        }

        let dimensions: EventDimensions
        if let value = root["dimensions"], value.kind != .null {
            dimensions = try Self.dimensions(value)
        } else {
            dimensions = EventDimensions(
                pageURL: pageURL, referrer: referrer, userAgent: userAgents.classify(recordedUserAgent ?? ""), country: nil)
        }
        return AnalyticsEvent(
            id: id, visitorID: visitorID, eventType: eventType, eventData: eventData, pageURL: pageURL,
            referrer: referrer, createdAt: createdAt, dimensions: dimensions)
    }

    /// Classifies the user agents of lines written before dimensions existed.
    private static let userAgents = UserAgentClassifier()

    /// The `dimensions` object: every member a string (unknown ones ignored, missing ones empty).
    private static func dimensions(_ value: JSONValue) throws(ArchiveLineError) -> EventDimensions {
        guard value.kind == .object else { throw ArchiveLineError(reason: "dimensions: must be a JSON object") }
        var texts: [EventDimensions.Name: String] = [:]
        for member in value.members {
            guard let name = EventDimensions.Name(rawValue: member.key) else { continue }
            guard let text = member.value.string, !member.value.containsNUL else {
                throw ArchiveLineError(reason: "dimensions: \(member.key) must be a string without U+0000")
            }
            texts[name] = text
        }
        return EventDimensions(values: texts)
    }

    /// The text of a JSON object without one of its members (every member named so).
    private static func objectText(_ object: JSONValue, without key: String, in bytes: [UInt8]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for member in object.members where member.key != key {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: bytes[member.value.span])
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func uuid(_ root: JSONValue, _ key: String) throws(ArchiveLineError) -> UUID {
        guard let value = root[key], value.kind != .null else { throw ArchiveLineError(reason: "\(key): missing") }
        guard let text = value.string, let uuid = UUID(canonical: text) else {
            throw ArchiveLineError(reason: "\(key): not a UUID (8-4-4-4-12 hexadecimal digits)")
        }
        return uuid
    }

    private static func urlField(_ root: JSONValue, _ key: String) throws(ArchiveLineError) -> String? {
        guard let value = root[key], value.kind != .null else { return nil }
        guard let text = value.string, EventRules.isValidURLField(text) else {
            throw ArchiveLineError(
                reason: "\(key): must be null or a string of at most \(EventRules.maximumURLLength) characters without U+0000")
        }
        return text
    }

    /// A quoted, shortened copy of a bad value for an error message.
    private static func excerpt(_ text: String) -> String {
        let limit = 40
        return text.count <= limit ? JSONText.quoted(text) : JSONText.quoted(String(text.prefix(limit))) + "…"
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func appendUUID(_ uuid: UUID, to out: inout [UInt8]) {
        withUnsafeBytes(of: uuid.uuid) { raw in
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hexDigits[Int(raw[i] >> 4)])
                out.append(hexDigits[Int(raw[i] & 0xF)])
            }
        }
    }

    private static func appendOptional(_ value: String?, to out: inout [UInt8]) {
        if let value {
            JSONText.appendQuoted(value, to: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
    }
}
