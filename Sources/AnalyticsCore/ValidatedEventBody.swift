/// The fields of an event body that passed every rule (``EventRules/validate(body:refererHeader:)``),
/// ready to become an ``AnalyticsEvent``.
public struct ValidatedEventBody: Sendable, Equatable {
    public var eventType: String
    /// `event_data` byte for byte as the client sent it, or `{}`.
    public var eventData: String
    /// `page_url`, or the `Referer` header when the body has none.
    public var pageURL: String?
    public var referrer: String?
}
