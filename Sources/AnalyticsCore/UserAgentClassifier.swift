/// Reads ``UserAgentDimensions`` out of a `User-Agent` header: the browser or app, its major version,
/// the operating system and the kind of device.
///
/// User agents name their browser among several product tokens, most of which are there for old
/// compatibility checks (`Mozilla/5.0`, `AppleWebKit`, `Safari/` in every Chromium browser, `Chrome/`
/// in Edge, Opera and the in-app browsers). Each browser is recognised by the token only it sends,
/// and the most specific wins: an in-app browser over the engine it embeds, Edge over Chrome, Chrome
/// over Safari. One pass over the header finds every token (``LiteralSearcher``); the decision
/// is then a walk down a ranked table. The names follow those of the `ua-parser` project (uap-core)
/// with its mobile variants folded in (`Chrome Mobile iOS` is `Chrome`); the test corpus checks the
/// classifier against it on hundreds of real user agents (see `UserAgentClassifierTests`).
public struct UserAgentClassifier: Sendable {
    /// What finding a token means.
    enum Role: Sendable {
        /// A browser, with its rank (lower wins) and where its version is read.
        case browser(rank: Int, name: String, version: Version)
        /// An operating system, with its rank (lower wins).
        case os(rank: Int, name: String)
        /// A token that other decisions look at.
        case hint(Hint)
    }

    /// Where a browser's major version is read.
    enum Version: Sendable {
        /// Right after its own token.
        case ownToken
        /// After another token (`Version/` for Safari, `FBAV/` for Facebook).
        case after(Hint)
        /// The browser's tokens carry no version.
        case none
    }

    /// Tokens looked at besides those that name a browser or a system.
    enum Hint: Int, Sendable, CaseIterable {
        case chrome, safari, version, appleWebKit, webView, mobile, tablet, iPad, kindle, facebookVersion,
            tridentVersion, linkedInVersion, operaMini
    }

    private let searcher: LiteralSearcher
    private let roles: [Role]
    private let hintMarkers: [Int]

    /// The browser tokens, the most specific first. Ranks are the order of this table.
    private static let browserTokens: [(token: String, name: String, version: Version)] = [
        // In-app browsers, whose user agents also carry the engine's tokens.
        ("FBAN/MessengerForiOS", "Facebook Messenger", .after(.facebookVersion)),
        ("FBAN/", "Facebook", .after(.facebookVersion)),
        ("FB_IAB/", "Facebook", .after(.facebookVersion)),
        ("Instagram ", "Instagram", .ownToken),
        ("Twitter for iPhone/", "X", .ownToken),
        ("TwitterAndroid", "X", .none),
        ("musical_ly_", "TikTok", .ownToken),
        ("BytedanceWebview/", "TikTok", .none),
        ("Snapchat/", "Snapchat", .ownToken),
        ("[Pinterest/", "Pinterest", .none),
        ("MicroMessenger/", "WeChat", .ownToken),
        ("[LinkedInApp]", "LinkedIn", .after(.linkedInVersion)),
        ("Line/", "LINE", .ownToken),
        ("GSA/", "Google App", .ownToken),
        // Browsers built on Chromium or WebKit that name themselves.
        ("Ecosia ios@", "Ecosia", .ownToken),
        ("Ddg/", "DuckDuckGo", .ownToken),
        ("DuckDuckGo/", "DuckDuckGo", .ownToken),
        ("EdgiOS/", "Edge", .ownToken),
        ("EdgA/", "Edge", .ownToken),
        ("Edg/", "Edge", .ownToken),
        ("Edge/", "Edge", .ownToken),
        ("Opera Mini/", "Opera Mini", .ownToken),
        ("OPiOS/", "Opera", .ownToken),
        ("OPT/", "Opera", .ownToken),
        ("OPR/", "Opera", .ownToken),
        ("SamsungBrowser/", "Samsung Internet", .ownToken),
        ("YaBrowser/", "Yandex Browser", .ownToken),
        ("Vivaldi/", "Vivaldi", .ownToken),
        ("UCBrowser/", "UC Browser", .ownToken),
        ("MiuiBrowser/", "MIUI Browser", .ownToken),
        ("HuaweiBrowser/", "Huawei Browser", .ownToken),
        ("HeyTapBrowser/", "HeyTap Browser", .ownToken),
        ("Whale/", "Whale", .ownToken),
        ("coc_coc_browser/", "Coc Coc", .ownToken),
        ("QQBrowser/", "QQ Browser", .ownToken),
        ("Silk/", "Silk", .ownToken),
        ("AVG/", "AVG Secure Browser", .ownToken),
        ("Avast/", "Avast Secure Browser", .ownToken),
        ("ADG/", "AOL", .ownToken),
        ("LikeWise/", "LikeWise", .ownToken),
        // The big engines' own browsers.
        ("CriOS/", "Chrome", .ownToken),
        ("FxiOS/", "Firefox", .ownToken),
        ("Firefox/", "Firefox", .ownToken),
        ("; wv)", "Android WebView", .after(.chrome)),
        ("Chromium/", "Chromium", .ownToken),
        ("Chrome/", "Chrome", .ownToken),
        ("Trident/", "Internet Explorer", .after(.tridentVersion)),
        ("MSIE ", "Internet Explorer", .ownToken),
    ]

    private static let osTokens: [(token: String, name: String)] = [
        ("iPhone", "iOS"), ("iPad", "iOS"), ("iPod", "iOS"), ("like Mac OS X", "iOS"),
        ("KAIOS", "KaiOS"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS ", "ChromeOS"),
        ("Macintosh", "macOS"), ("Mac OS X", "macOS"),
        ("Ubuntu", "Ubuntu"), ("Fedora", "Fedora"), ("FreeBSD", "FreeBSD"),
        ("Linux", "Linux"), ("X11", "Linux"),
    ]

    private static let hintTokens: [Hint: String] = [
        .chrome: "Chrome/", .safari: "Safari/", .version: "Version/", .appleWebKit: "AppleWebKit/",
        .webView: "; wv)", .mobile: "Mobile", .tablet: "Tablet", .iPad: "iPad", .kindle: "Kindle",
        .facebookVersion: "FBAV/", .tridentVersion: "rv:", .linkedInVersion: "[LinkedInApp]/", .operaMini: "Opera Mini",
    ]

    /// The classifier with its built-in token table.
    public init() {
        var tokens: [[UInt8]] = []
        var roles: [Role] = []
        for (rank, entry) in Self.browserTokens.enumerated() {
            tokens.append(Array(entry.token.utf8))
            roles.append(.browser(rank: rank, name: entry.name, version: entry.version))
        }
        for (rank, entry) in Self.osTokens.enumerated() {
            tokens.append(Array(entry.token.utf8))
            roles.append(.os(rank: rank, name: entry.name))
        }
        var hintMarkers = [Int](repeating: 0, count: Hint.allCases.count)
        for hint in Hint.allCases {
            hintMarkers[hint.rawValue] = tokens.count
            tokens.append(Array(Self.hintTokens[hint]!.utf8))
            roles.append(.hint(hint))
        }
        self.searcher = LiteralSearcher(strings: tokens)
        self.roles = roles
        self.hintMarkers = hintMarkers
    }

    /// The dimensions of a user agent.
    /// - Parameters:
    ///   - userAgent: the `User-Agent` header; empty when the request had none.
    ///   - isBot: the bot filter's verdict on it: a bot's device is ``UserAgentDimensions/Device/bot``.
    public func classify(_ userAgent: some StringProtocol, isBot: Bool = false) -> UserAgentDimensions {
        if let result = userAgent.utf8.withContiguousStorageIfAvailable({ classify(utf8: $0, isBot: isBot) }) {
            return result
        }
        var copy = String(userAgent)
        return copy.withUTF8 { classify(utf8: $0, isBot: isBot) }
    }

    private func classify(utf8 text: UnsafeBufferPointer<UInt8>, isBot: Bool) -> UserAgentDimensions {
        // Where each token's first occurrence ends; -1 where it does not occur.
        var ends = [Int](repeating: -1, count: roles.count)
        _ = searcher.firstOccurrence(in: text) { token, range in
            if ends[token] < 0 { ends[token] = range.upperBound }
            return false
        }
        func has(_ hint: Hint) -> Bool { ends[hintMarkers[hint.rawValue]] >= 0 }
        func major(after hint: Hint) -> String { Self.major(in: text, from: ends[hintMarkers[hint.rawValue]]) }

        var result = UserAgentDimensions()
        var browserRank = Int.max
        var osRank = Int.max
        for (index, end) in ends.enumerated() where end >= 0 {
            switch roles[index] {
            case .browser(let rank, let name, let version) where rank < browserRank:
                if name == "Android WebView" && !has(.chrome) { continue }
                browserRank = rank
                result.browser = name
                switch version {
                case .ownToken: result.browserMajor = Self.major(in: text, from: end)
                case .after(let hint): result.browserMajor = major(after: hint)
                case .none: result.browserMajor = ""
                }
            case .os(let rank, let name) where rank < osRank:
                osRank = rank
                result.os = name
            default:
                continue
            }
        }
        if result.browser == "Chrome" && result.os == "Android" && has(.version) {
            // Android's web view before it said `; wv)`: `Version/4.0` before `Chrome/`.
            result.browser = "Android WebView"
        }
        if result.browser.isEmpty && has(.appleWebKit) {
            // WebKit without a browser's own token: Safari says `Version/…Safari/`; an app's web view
            // on iOS has neither, and Apple Mail on the Mac sends WebKit's token alone.
            if has(.safari) && has(.version) {
                result.browser = "Safari"
                result.browserMajor = major(after: .version)
            } else if result.os == "iOS" && !has(.safari) {
                result.browser = "iOS WebView"
                result.browserMajor = has(.version) ? major(after: .version) : ""
            } else if result.os == "macOS" && !has(.safari) {
                result.browser = "Apple Mail"
                result.browserMajor = major(after: .appleWebKit)
            }
        }
        result.device = isBot ? .bot : Self.device(os: result.os, has: has)
        return result
    }

    /// Phones and tablets by the conventions their browsers follow: iOS says `iPad` or not; Android
    /// browsers send `Mobile` on phones only (Chrome's reduced user agent keeps that token); Kindle
    /// Fire devices run Silk.
    private static func device(os: String, has: (Hint) -> Bool) -> UserAgentDimensions.Device {
        switch os {
        case "iOS":
            return has(.iPad) ? .tablet : .mobile
        case "Android":
            if has(.kindle) || has(.tablet) { return .tablet }
            return has(.mobile) || has(.operaMini) ? .mobile : .tablet
        case "KaiOS":
            return .mobile
        default:
            return has(.mobile) && !has(.tablet) && os.isEmpty ? .mobile : .desktop
        }
    }

    /// The digits at `start` (a version's major part), at most 6 of them; empty when there are none.
    private static func major(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> String {
        guard start >= 0 else { return "" }
        var end = start
        while end < text.count && end - start < 6 && text[end] &- UInt8(ascii: "0") < 10 { end += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: text[start..<end]), as: UTF8.self)
    }
}
