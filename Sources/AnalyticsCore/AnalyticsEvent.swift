import Foundation

/// One accepted event, as the gateway publishes it on the stream and the consumers read it back.
public struct AnalyticsEvent: Sendable, Equatable {
    public var id: UUID
    public var visitorID: UUID
    public var eventType: String
    /// The `event_data` object as JSON text (`{}` when the client sent none).
    public var eventData: String
    public var pageURL: String?
    public var referrer: String?
    /// Milliseconds since the Unix epoch, assigned by the gateway when it accepted the event.
    public var createdAt: Int64

    public init(
        id: UUID, visitorID: UUID, eventType: String, eventData: String = "{}",
        pageURL: String? = nil, referrer: String? = nil, createdAt: Int64
    ) {
        self.id = id
        self.visitorID = visitorID
        self.eventType = eventType
        self.eventData = eventData
        self.pageURL = pageURL
        self.referrer = referrer
        self.createdAt = createdAt
    }
}

/// The domain events of the seed that feed dedicated aggregates.
public enum DomainEvent {
    public static let pageview = "pageview"
    public static let themeView = "cv_theme_view"
    public static let letterGenerated = "letter_generated"
    public static let letterTypes: Set<String> = ["motivation", "anti_motivation"]
}

/// What an event adds to the aggregates beyond the totals: a theme view or a generated letter.
public enum EventDimension: Sendable, Equatable {
    case none
    case theme(String)
    case letter(String)

    /// Reads the dimension of an accepted event. The gateway has validated `event_data`, so a failure
    /// here (an entry written by something else) just means the event adds to the totals only.
    public static func of(eventType: String, eventData: String) -> EventDimension {
        switch eventType {
        case DomainEvent.themeView:
            guard let data = try? JSONScanner.parse(Array(eventData.utf8)), let theme = data["theme"]?.string,
                EventRules.isValidTheme(theme)
            else { return .none }
            return .theme(theme)
        case DomainEvent.letterGenerated:
            guard let data = try? JSONScanner.parse(Array(eventData.utf8)), let type = data["type"]?.string,
                DomainEvent.letterTypes.contains(type)
            else { return .none }
            return .letter(type)
        default:
            return .none
        }
    }
}

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
