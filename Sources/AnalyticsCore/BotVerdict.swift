/// What the bot filter concluded about a user agent, and why, so that the gateway can count the
/// events it drops by reason.
public enum BotVerdict: Sendable, Hashable {
    /// A user agent that no crawler pattern matches: treated as a visitor.
    case browser
    /// No user agent, or only whitespace: every browser sends one, so this is a script or a bot.
    case missingUserAgent
    /// A crawler: the pattern (a regular expression of `CrawlerPatterns`) that matched.
    case crawler(pattern: String)

    /// Whether the event should be dropped: anything but a browser.
    public var isBot: Bool {
        if case .browser = self { return false }
        return true
    }
}
