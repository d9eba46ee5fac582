/// Where a visit came from, as the referrer breakdown shows it: the referring site's host without
/// `www.`, or the name of a well-known search engine or network (``knownSources``), so that
/// `www.google.com`, `google.fr` and `l.facebook.com` count as `Google` and `Facebook`. Empty for a
/// direct visit (no referrer) and for navigation within the site itself.
public enum ReferrerSource {
    /// Registrable names (without a public suffix, matched on any suffix) and exact hosts that
    /// fold to one source name. A referrer host matches when it is one of these or ends with `.`
    /// followed by one, so `news.google.co.uk` is `Google`.
    public static let knownSources: [(source: String, names: [String], hosts: [String])] = [
        ("Google", ["google"], ["googleusercontent.com", "googleadservices.com"]),
        ("Bing", ["bing"], []),
        ("DuckDuckGo", ["duckduckgo"], []),
        ("Yahoo", ["yahoo"], []),
        ("Yandex", ["yandex", "ya"], []),
        ("Baidu", ["baidu"], []),
        ("Ecosia", ["ecosia"], []),
        ("Qwant", ["qwant"], []),
        ("Startpage", ["startpage"], []),
        ("Brave Search", [], ["search.brave.com"]),
        ("Naver", ["naver"], []),
        ("Facebook", ["facebook"], ["fb.me", "fb.com"]),
        ("Instagram", ["instagram"], []),
        ("LinkedIn", ["linkedin"], ["lnkd.in"]),
        ("X", [], ["t.co", "twitter.com", "x.com"]),
        ("GitHub", [], ["github.com", "github.io"]),
        ("Reddit", ["reddit"], []),
        ("Hacker News", [], ["news.ycombinator.com"]),
        ("YouTube", ["youtube"], ["youtu.be"]),
        ("Pinterest", ["pinterest"], []),
        ("Mastodon", [], ["mastodon.social"]),
        ("Bluesky", [], ["bsky.app"]),
        ("Wikipedia", ["wikipedia"], []),
        ("Stack Overflow", [], ["stackoverflow.com"]),
        ("ChatGPT", [], ["chatgpt.com", "chat.openai.com"]),
        ("Perplexity", [], ["perplexity.ai"]),
    ]

    /// Second-level labels under which a country's sites register (`google.co.uk`, `yahoo.com.au`).
    static let secondLevelLabels: Set<String> = ["co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"]

    /// The source of a visit.
    /// - Parameters:
    ///   - referrer: the event's referrer URL, or nil.
    ///   - pageHost: the host of the page visited (``PageDimensions/host``): a referrer on the same
    ///     host (with or without `www.`) is navigation within the site.
    /// - Returns: the source name; empty for none.
    public static func of(referrer: String?, pageHost: String) -> String {
        guard let referrer, !referrer.isEmpty else { return "" }
        let host = withoutWWW(URLParts(referrer).host)
        guard !host.isEmpty else { return "" }
        if !pageHost.isEmpty, host == withoutWWW(pageHost) { return "" }
        return knownName(of: host) ?? String(host)
    }

    /// The name of a well-known source for a host (already without `www.`), or nil.
    public static func knownName(of host: Substring) -> String? {
        let labels = host.split(separator: ".")
        for known in knownSources {
            for exact in known.hosts where host == exact || host.hasSuffix("." + exact) {
                return known.source
            }
            if !known.names.isEmpty, let name = registrableLabel(labels), known.names.contains(name) {
                return known.source
            }
        }
        return nil
    }

    /// The label a site registered: the one before the public suffix, taken as the last label, or
    /// the last two when the second-to-last is one of ``secondLevelLabels`` (`google.co.uk`).
    static func registrableLabel(_ labels: [Substring]) -> String? {
        guard labels.count >= 2 else { return nil }
        let suffixLength = labels.count >= 3 && secondLevelLabels.contains(String(labels[labels.count - 2])) ? 2 : 1
        return String(labels[labels.count - 1 - suffixLength])
    }

    private static func withoutWWW(_ host: String) -> Substring {
        host.hasPrefix("www.") ? host.dropFirst(4) : Substring(host)
    }
}
