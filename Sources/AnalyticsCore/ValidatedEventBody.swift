import Foundation

/// The fields of an event body that passed every rule (``EventRules/validate(body:refererHeader:)``),
/// ready to become an ``AnalyticsEvent``.
public struct ValidatedEventBody: Sendable, Equatable {
    public var eventType: String
    /// `event_data` byte for byte as the client sent it, or `{}`.
    public var eventData: String
    /// `page_url`, or the `Referer` header when the body has none.
    public var pageURL: String?
    public var referrer: String?
    /// `id`: the event's id as the client chose it, so that sending the event again is idempotent;
    /// nil when the gateway is to give it one.
    public var clientID: UUID?

    public init(eventType: String, eventData: String, pageURL: String?, referrer: String?, clientID: UUID? = nil) {
        self.eventType = eventType
        self.eventData = eventData
        self.pageURL = pageURL
        self.referrer = referrer
        self.clientID = clientID
    }
}
