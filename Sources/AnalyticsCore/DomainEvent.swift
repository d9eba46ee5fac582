import Foundation

/// The domain events of the seed that feed dedicated aggregates.
public enum DomainEvent {
    public static let pageview = "pageview"
    public static let themeView = "cv_theme_view"
    public static let letterGenerated = "letter_generated"
    public static let letterTypes: Set<String> = ["motivation", "anti_motivation"]
}
