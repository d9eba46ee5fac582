

/// The fields of an event body that passed every rule, ready to become an `AnalyticsEvent`.
public struct ValidatedEventBody: Sendable, Equatable {
    public var eventType: String
    public var eventData: String
    public var pageURL: String?
    public var referrer: String?
}
