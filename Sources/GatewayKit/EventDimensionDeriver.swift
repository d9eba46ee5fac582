import AnalyticsCore
import Synchronization

/// Derives an accepted event's ``EventDimensions`` from what the request carried: the page URL and
/// referrer (after the query filter), the user agent and the client's address. The address only
/// serves the country lookup and the user agent only its classification; neither goes further.
public struct EventDimensionDeriver: Sendable {
    private let classifier = UserAgentClassifier()
    /// Says which user agents are bots, for the `bot` device (seen only when the bot filter is off).
    private let bots: CrawlerMatcher
    private let geoIP: GeoIPDatabase?
    /// User agents classified lately: visitors send many events, and a site's audience uses a
    /// limited set of browsers. Emptied when full.
    private let recent = RecentAgents()
    /// User agents whose dimensions are remembered, at most.
    static let remembered = 4096

    /// In memory only, like the requests they came from.
    private final class RecentAgents: Sendable {
        let agents = Mutex<[String: UserAgentDimensions]>([:])
    }

    /// - Parameters:
    ///   - bots: the crawler patterns (the bot filter's, or the built-in ones when the filter is off).
    ///   - geoIP: the country database; nil when events get no country.
    public init(bots: CrawlerMatcher = CrawlerMatcher(), geoIP: GeoIPDatabase? = nil) {
        self.bots = bots
        self.geoIP = geoIP
    }

    /// The dimensions of an event.
    /// - Parameters:
    ///   - pageURL: the page URL as stored (query filtered); nil when none.
    ///   - referrer: the referrer as stored; nil when none.
    ///   - userAgent: the request's `User-Agent`, empty when it had none.
    ///   - client: the client's address (behind trusted proxies); nil when unknown.
    public func dimensions(pageURL: String?, referrer: String?, userAgent: String, client: IPAddress?) -> EventDimensions {
        EventDimensions(
            pageURL: pageURL, referrer: referrer, userAgent: classify(userAgent),
            country: client.flatMap { geoIP?.countryCode(of: $0) })
    }

    /// What a user agent says, remembered.
    func classify(_ userAgent: String) -> UserAgentDimensions {
        if let known = recent.agents.withLock({ $0[userAgent] }) { return known }
        let found = classifier.classify(userAgent, isBot: bots.isCrawler(userAgent))
        recent.agents.withLock { agents in
            if agents.count >= Self.remembered { agents.removeAll(keepingCapacity: true) }
            agents[userAgent] = found
        }
        return found
    }
}
