import Foundation

/// How an ``AnalyticsEvent`` is laid out as the fields of a stream entry, written by the gateway and
/// read by both consumer groups. Field names are short but readable: `XRANGE` output stays legible
/// for an operator.
public enum StreamEntryCodec {
    /// The field names of a stream entry.
    public enum Field {
        /// The event id, a lower-case UUID.
        public static let id = "id"
        /// The visitor id, a lower-case UUID.
        public static let visitorID = "vid"
        public static let eventType = "type"
        /// Milliseconds since the Unix epoch, in decimal.
        public static let createdAt = "ts"
        /// The `event_data` object as JSON text.
        public static let eventData = "data"
        /// Absent when the event has no page URL.
        public static let pageURL = "url"
        /// Absent when the event has no referrer.
        public static let referrer = "ref"
        /// The event's ``EventDimensions``, packed into one field (``EventDimensions/packed``): one
        /// field rather than eleven keeps the gateway's ingest script short. Absent in entries
        /// written before dimensions existed, whose dimensions are then empty.
        public static let dimensions = "dims"
    }

    /// Why an entry cannot become an event; the consumers dead-letter the entry with this reason.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        /// Names the missing or malformed field.
        public let reason: String
        public var description: String { reason }
    }

    /// The field/value pairs of `XADD`, in order.
    /// - Returns: name, value, name, value, …; `url` and `ref` only when the event has them, `dims` last.
    public static func fields(of event: AnalyticsEvent) -> [String] {
        var fields: [String] = []
        fields.reserveCapacity(maximumFieldCount)
        appendFields(of: event, to: &fields)
        return fields
    }

    /// The most strings ``fields(of:)`` gives for an event (names and values): room to reserve.
    public static let maximumFieldCount = 16

    /// Appends the event's ``fields(of:)`` to an array (the gateway's script arguments), without
    /// building an array of their own.
    public static func appendFields(of event: AnalyticsEvent, to fields: inout [String]) {
        fields.append(Field.id)
        fields.append(event.id.lowercasedString)
        fields.append(Field.visitorID)
        fields.append(event.visitorID.lowercasedString)
        fields.append(Field.eventType)
        fields.append(event.eventType)
        fields.append(Field.createdAt)
        fields.append(String(event.createdAt))
        fields.append(Field.eventData)
        fields.append(event.eventData)
        if let url = event.pageURL {
            fields.append(Field.pageURL)
            fields.append(url)
        }
        if let ref = event.referrer {
            fields.append(Field.referrer)
            fields.append(ref)
        }
        fields.append(Field.dimensions)
        fields.append(event.dimensions.packed)
    }

    /// Years 1 to 9999: anything else is not a time of an event (and would overflow the date
    /// arithmetic).
    public static let validCreatedAt: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// Rebuilds an event from the field/value pairs of a stream entry. Unknown fields are ignored, a
    /// missing `data` is `{}`, and `data` is taken as written, not parsed again.
    /// - Throws: ``DecodingError`` when `id` or `vid` is not a UUID, `type` breaks the event-type rule,
    ///   `ts` is not an integer within ``validCreatedAt``, or `dims` is not in the packed format.
    public static func decode(_ pairs: [(String, String)]) throws(DecodingError) -> AnalyticsEvent {
        var id: UUID?
        var visitor: UUID?
        var type: String?
        var createdAt: Int64?
        var data = "{}"
        var url: String?
        var ref: String?
        var dimensions = EventDimensions()
        for (name, value) in pairs {
            switch name {
            case Field.id: id = UUID(canonical: value)
            case Field.visitorID: visitor = UUID(canonical: value)
            case Field.eventType: type = value
            case Field.createdAt: createdAt = Int64(value)
            case Field.eventData: data = value
            case Field.pageURL: url = value
            case Field.referrer: ref = value
            case Field.dimensions:
                guard let parsed = EventDimensions(packed: value) else {
                    throw DecodingError(reason: "malformed field \(Field.dimensions)")
                }
                dimensions = parsed
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
            createdAt: createdAt, dimensions: dimensions)
    }
}
