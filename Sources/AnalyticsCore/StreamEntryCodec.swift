import Foundation

/// How an event is laid out as the fields of a stream entry. Field names are short but readable:
/// `XRANGE` output stays legible for an operator.
public enum StreamEntryCodec {
    public enum Field {
        public static let id = "id"
        public static let visitorID = "vid"
        public static let eventType = "type"
        public static let createdAt = "ts"
        public static let eventData = "data"
        public static let pageURL = "url"
        public static let referrer = "ref"
    }

    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The field/value pairs of `XADD`, in order.
    public static func fields(of event: AnalyticsEvent) -> [String] {
        var fields = [
            Field.id, event.id.lowercasedString,
            Field.visitorID, event.visitorID.lowercasedString,
            Field.eventType, event.eventType,
            Field.createdAt, String(event.createdAt),
            Field.eventData, event.eventData,
        ]
        if let url = event.pageURL { fields += [Field.pageURL, url] }
        if let ref = event.referrer { fields += [Field.referrer, ref] }
        return fields
    }

    /// Years 1 to 9999: anything else is not a time of an event (and would overflow the date
    /// arithmetic).
    public static let validCreatedAt: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// Rebuilds an event from the field/value pairs of a stream entry.
    public static func decode(_ pairs: [(String, String)]) throws(DecodingError) -> AnalyticsEvent {
        var id: UUID?
        var visitor: UUID?
        var type: String?
        var createdAt: Int64?
        var data = "{}"
        var url: String?
        var ref: String?
        for (name, value) in pairs {
            switch name {
            case Field.id: id = UUID(canonical: value)
            case Field.visitorID: visitor = UUID(canonical: value)
            case Field.eventType: type = value
            case Field.createdAt: createdAt = Int64(value)
            case Field.eventData: data = value
            case Field.pageURL: url = value
            case Field.referrer: ref = value
            default: continue
            }
        }
        guard let id else { throw DecodingError(reason: "missing or malformed field \(Field.id)") }
        guard let visitor else { throw DecodingError(reason: "missing or malformed field \(Field.visitorID)") }
        guard let type, EventRules.isValidEventType(type) else {
            throw DecodingError(reason: "missing or malformed field \(Field.eventType)")
        }
        guard let createdAt, validCreatedAt.contains(createdAt) else {
            throw DecodingError(reason: "missing or malformed field \(Field.createdAt)")
        }
        return AnalyticsEvent(
            id: id, visitorID: visitor, eventType: type, eventData: data, pageURL: url, referrer: ref,
            createdAt: createdAt)
    }
}
