/// The values an event is broken down by in the history: where on the site it happened, where the
/// visitor came from, with what software and device, and from which country. The gateway derives
/// them once, when it accepts the event (from the page URL, the referrer, the user agent and the
/// client's address, none of which it keeps beyond the URLs without their query); the stream carries
/// them and the archiver stores them as columns. Empty means unknown or absent.
public struct EventDimensions: Sendable, Hashable {
    /// The page's host, lower-cased, without port.
    public var host: String
    /// The page's path, without query or fragment.
    public var path: String
    /// Where the visitor came from (``ReferrerSource``); empty for direct visits and navigation within the site.
    public var referrerSource: String
    public var utmSource: String
    public var utmMedium: String
    public var utmCampaign: String
    /// The browser's name (``UserAgentDimensions/browser``).
    public var browser: String
    /// The browser with its major version (`Chrome 135`).
    public var browserVersion: String
    public var os: String
    /// `desktop`, `mobile`, `tablet` or `bot`; empty for events stored before dimensions existed.
    public var device: String
    /// The ISO 3166-1 alpha-2 code of the client's country, when a GeoIP database is configured.
    public var country: String

    /// Every dimension empty.
    public init() {
        host = ""
        path = ""
        referrerSource = ""
        utmSource = ""
        utmMedium = ""
        utmCampaign = ""
        browser = ""
        browserVersion = ""
        os = ""
        device = ""
        country = ""
    }

    /// The dimensions of an event.
    /// - Parameters:
    ///   - pageURL: the page the event happened on, nil when none.
    ///   - referrer: the page before it, nil when none.
    ///   - userAgent: what the request's user agent says.
    ///   - country: the client's country code, nil when unknown.
    public init(pageURL: String?, referrer: String?, userAgent: UserAgentDimensions, country: String?) {
        let page = PageDimensions(url: pageURL)
        host = Self.clean(page.host)
        path = Self.clean(page.path)
        referrerSource = Self.clean(ReferrerSource.of(referrer: referrer, pageHost: page.host))
        utmSource = Self.clean(page.utmSource)
        utmMedium = Self.clean(page.utmMedium)
        utmCampaign = Self.clean(page.utmCampaign)
        browser = userAgent.browser
        browserVersion = userAgent.browserVersion
        os = userAgent.os
        device = userAgent.device.rawValue
        self.country = country.map(Self.clean) ?? ""
    }

    /// Dimensions from values by name (from an archive line, say), cleaned as derived ones are;
    /// missing ones are empty.
    public init(values: [Name: String]) {
        self.init()
        for (name, value) in values { self[name] = Self.clean(value) }
    }

    /// The values in the order of ``Name/allCases``.
    public var values: [String] {
        [host, path, referrerSource, utmSource, utmMedium, utmCampaign, browser, browserVersion, os, device, country]
    }

    /// One dimension's value.
    public subscript(name: Name) -> String {
        // A switch, not key paths: the archiver reads every value of every event.
        get {
            switch name {
            case .host: host
            case .path: path
            case .referrerSource: referrerSource
            case .utmSource: utmSource
            case .utmMedium: utmMedium
            case .utmCampaign: utmCampaign
            case .browser: browser
            case .browserVersion: browserVersion
            case .os: os
            case .device: device
            case .country: country
            }
        }
        set {
            switch name {
            case .host: host = newValue
            case .path: path = newValue
            case .referrerSource: referrerSource = newValue
            case .utmSource: utmSource = newValue
            case .utmMedium: utmMedium = newValue
            case .utmCampaign: utmCampaign = newValue
            case .browser: browser = newValue
            case .browserVersion: browserVersion = newValue
            case .os: os = newValue
            case .device: device = newValue
            case .country: country = newValue
            }
        }
    }

    /// Calls `body` with each value and its position in ``Name/allCases``, in that order.
    @inlinable
    public func forEachValue(_ body: (Int, String) throws -> Void) rethrows {
        try body(0, host)
        try body(1, path)
        try body(2, referrerSource)
        try body(3, utmSource)
        try body(4, utmMedium)
        try body(5, utmCampaign)
        try body(6, browser)
        try body(7, browserVersion)
        try body(8, os)
        try body(9, device)
        try body(10, country)
    }

    /// The dimensions, named as the columns of `analytics_events` that hold them.
    public enum Name: String, Sendable, CaseIterable {
        case host
        case path
        case referrerSource = "referrer_source"
        case utmSource = "utm_source"
        case utmMedium = "utm_medium"
        case utmCampaign = "utm_campaign"
        case browser
        case browserVersion = "browser_version"
        case os
        case device
        case country
    }

    /// Longest value kept, in characters (a path can be as long as a page URL).
    public static let maximumValueLength = EventRules.maximumURLLength

    /// No control characters (they would break the stream's and COPY's separators and mean
    /// nothing on a dashboard), at most ``maximumValueLength`` characters.
    static func clean(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) || value.utf8.count > maximumValueLength else { return value }
        var kept = String.UnicodeScalarView()
        var count = 0
        for scalar in value.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F && count < maximumValueLength {
            kept.append(scalar)
            count += 1
        }
        return String(kept)
    }
}

extension EventDimensions {
    /// The dimensions as one field of a stream entry: the values in the order of ``Name/allCases``,
    /// separated by tabs (which no value holds), after a format version.
    public var packed: String {
        // Sized first and written once: the gateway packs every event it accepts.
        var length = Self.packedVersion.utf8.count
        forEachValue { _, value in length += 1 + value.utf8.count }
        var text = String()
        text.reserveCapacity(length)
        text += Self.packedVersion
        forEachValue { _, value in
            text += "\t"
            text += value
        }
        return text
    }

    /// The format version that starts ``packed`` text.
    public static let packedVersion = "1"

    /// Reads ``packed``; nil when the text is not in that format.
    public init?(packed: some StringProtocol) {
        // One pass over the bytes: the archiver reads this for every event.
        let utf8 = packed.utf8
        var start = utf8.startIndex
        guard start != utf8.endIndex, utf8[start] == Self.packedVersion.utf8.first else { return nil }
        start = utf8.index(after: start)
        guard start != utf8.endIndex, utf8[start] == UInt8(ascii: "\t") else { return nil }
        start = utf8.index(after: start)
        self.init()
        var field = 0
        var index = start
        while true {
            if index == utf8.endIndex || utf8[index] == UInt8(ascii: "\t") {
                guard field < Self.nameCount else { return nil }
                self[Self.names[field]] = String(packed[start..<index])
                field += 1
                if index == utf8.endIndex { break }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        guard field == Self.nameCount else { return nil }
    }

    private static let names = Name.allCases
    private static let nameCount = Name.allCases.count
}
