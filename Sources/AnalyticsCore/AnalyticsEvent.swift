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
