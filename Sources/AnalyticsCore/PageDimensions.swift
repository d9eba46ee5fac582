/// What a page URL says about a visit, as the breakdowns show it: the site's host, the page's path,
/// and the campaign tags (`utm_source`, `utm_medium`, `utm_campaign`) of its query. Derived once,
/// when the event is accepted; the query itself is not kept.
public struct PageDimensions: Sendable, Equatable {
    /// The host, lower-cased, without port or user information; empty when the URL has none.
    public var host: String
    /// The path, as sent (percent escapes kept), without query or fragment; `/` when empty.
    public var path: String
    /// The campaign tags, percent-decoded and trimmed; empty when absent.
    public var utmSource: String
    public var utmMedium: String
    public var utmCampaign: String

    /// Longest campaign tag kept, in characters; longer ones are cut.
    public static let maximumTagLength = 200

    /// - Parameters:
    ///   - host: the host, lower-cased.
    ///   - path: the path.
    ///   - utmSource: the `utm_source` tag.
    ///   - utmMedium: the `utm_medium` tag.
    ///   - utmCampaign: the `utm_campaign` tag.
    public init(host: String = "", path: String = "", utmSource: String = "", utmMedium: String = "", utmCampaign: String = "") {
        self.host = host
        self.path = path
        self.utmSource = utmSource
        self.utmMedium = utmMedium
        self.utmCampaign = utmCampaign
    }

    /// The dimensions of a page URL; all empty for an event without one.
    /// - Parameter url: an absolute URL (`https://host/path?query#fragment`), or nil.
    public init(url: String?) {
        self.init()
        guard let url else { return }
        let parts = URLParts(url)
        host = parts.host
        path = parts.path.isEmpty ? "/" : String(parts.path)
        for item in parts.query.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = pair.count == 2 ? Self.tagValue(pair[1]) : ""
            switch pair[0] {
            case "utm_source": if utmSource.isEmpty { utmSource = value }
            case "utm_medium": if utmMedium.isEmpty { utmMedium = value }
            case "utm_campaign": if utmCampaign.isEmpty { utmCampaign = value }
            default: continue
            }
        }
    }

    /// A tag's value: `+` as space, percent-decoded (as sent when an escape is malformed), trimmed,
    /// control characters dropped, at most ``maximumTagLength`` characters.
    static func tagValue(_ raw: Substring) -> String {
        let spaced = raw.replacing("+", with: " ")
        let decoded = spaced.percentDecoded ?? String(spaced)
        let visible = String(
            decoded.unicodeScalars.filter { !$0.properties.isNoncharacterCodePoint && $0.value >= 0x20 && $0.value != 0x7F })
        return String(visible.trimmed(of: " \t").prefix(maximumTagLength))
    }
}

/// The pieces of an absolute URL the dimensions need, found by scanning its bytes once: this runs
/// on every event (and on its referrer), and the delimiters are all ASCII, so no character of the
/// URL needs to be formed.
struct URLParts {
    /// Lower-cased, without user information or port; IPv6 literals keep their brackets.
    var host = ""
    var path: Substring = ""
    var query: Substring = ""

    init(_ url: String) {
        let bytes = url.utf8
        let end = bytes.firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
        var restEnd = end
        if let question = bytes[..<end].firstIndex(of: UInt8(ascii: "?")) {
            query = url[bytes.index(after: question)..<end]
            restEnd = question
        }
        guard let authorityStart = Self.authorityStart(bytes[..<restEnd]) else {
            path = url[..<restEnd]
            return
        }
        let slash = bytes[authorityStart..<restEnd].firstIndex(of: UInt8(ascii: "/")) ?? restEnd
        path = url[slash..<restEnd]
        host = PageDimensions.host(ofAuthority: url[authorityStart..<slash])
    }

    /// Where the authority begins: just after the first `://`; nil when there is none.
    private static func authorityStart(_ bytes: Substring.UTF8View) -> String.Index? {
        var index = bytes.startIndex
        while let colon = bytes[index...].firstIndex(of: UInt8(ascii: ":")) {
            let first = bytes.index(after: colon)
            guard first != bytes.endIndex else { return nil }
            let second = bytes.index(after: first)
            if bytes[first] == UInt8(ascii: "/"), second != bytes.endIndex, bytes[second] == UInt8(ascii: "/") {
                return bytes.index(after: second)
            }
            index = first
        }
        return nil
    }
}

extension PageDimensions {
    /// The host of an authority (`user@host:port`, `[v6]:port`), lower-cased, without user
    /// information or port; IPv6 literals keep their brackets.
    public static func host(ofAuthority authority: some StringProtocol) -> String {
        var authority = Substring(authority)
        let bytes = authority.utf8
        if let at = bytes.lastIndex(of: UInt8(ascii: "@")) { authority = authority[bytes.index(after: at)...] }
        let hostBytes = authority.utf8
        if hostBytes.first == UInt8(ascii: "["), let close = hostBytes.firstIndex(of: UInt8(ascii: "]")) {
            return authority[...close].lowercased()
        }
        let colon = hostBytes.firstIndex(of: UInt8(ascii: ":")) ?? hostBytes.endIndex
        return authority[..<colon].lowercased()
    }
}
