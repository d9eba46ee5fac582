import Foundation

/// What an event adds to the aggregates beyond the totals: a theme view or a generated letter.
public enum RealtimeDimension: Sendable, Equatable {
    /// The event counts towards the totals only.
    case none
    /// A `cv_theme_view` and its theme, for the top themes.
    case theme(String)
    /// A `letter_generated` and its letter type, for the letter counters.
    case letter(String)

    /// Reads the dimension of an accepted event. The gateway has validated `event_data`, so a failure
    /// here (an entry written by something else) just means the event adds to the totals only.
    public static func of(eventType: String, eventData: String) -> RealtimeDimension {
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
