import Foundation

/// The event types the service treats specially: each needs particular `event_data`
/// (``EventRules``) and feeds aggregates of its own (``RealtimeDimension``). Any other valid type only
/// counts towards the totals.
public enum DomainEvent {
    /// Recorded by the gateway itself for an HTML page it served.
    public static let pageview = "pageview"
    /// A CV theme was viewed; `event_data.theme` feeds the top themes.
    public static let themeView = "cv_theme_view"
    /// A letter was generated; `event_data.type`, one of ``letterTypes``, feeds the letter counters.
    public static let letterGenerated = "letter_generated"
    /// The accepted values of a `letter_generated` event's `event_data.type`.
    public static let letterTypes: Set<String> = ["motivation", "anti_motivation"]
}
