import Foundation

/// One accepted event, as the gateway publishes it on the stream and the consumers read it back
/// (``StreamEntryCodec`` lays it out as the fields of a stream entry).
public struct AnalyticsEvent: Sendable, Equatable {
    /// The event id: a UUIDv7 from ``UUIDv7Generator``. It makes a re-delivered event recognisable,
    /// so that nothing is stored twice.
    public var id: UUID
    /// The pseudonymous visitor: the cookie's id or the cookieless id, never an address.
    public var visitorID: UUID
    /// Follows ``EventRules/isValidEventType(_:)``.
    public var eventType: String
    /// The `event_data` object as JSON text (`{}` when the client sent none).
    public var eventData: String
    /// The page the event happened on, as sent; nil when the event has none.
    public var pageURL: String?
    /// nil when the event has none.
    public var referrer: String?
    /// Milliseconds since the Unix epoch, assigned by the gateway when it accepted the event.
    public var createdAt: Int64
    /// What the history breaks the event down by, derived by the gateway when it accepted the event.
    public var dimensions: EventDimensions

    /// An event; `eventData` defaults to `{}`, as when the client sent none, and the dimensions to empty. Nothing is checked here:
    /// bodies from outside go through ``EventRules`` first.
    public init(
        id: UUID, visitorID: UUID, eventType: String, eventData: String = "{}",
        pageURL: String? = nil, referrer: String? = nil, createdAt: Int64, dimensions: EventDimensions = EventDimensions()
    ) {
        self.id = id
        self.visitorID = visitorID
        self.eventType = eventType
        self.eventData = eventData
        self.pageURL = pageURL
        self.referrer = referrer
        self.createdAt = createdAt
        self.dimensions = dimensions
    }
}
