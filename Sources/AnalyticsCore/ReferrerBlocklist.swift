/// Referrer spam: the hosts whose referrals the gateway drops (`spam.example, bad.test`). A listed
/// host blocks itself and its subdomains (`x.spam.example`), not other names that merely end the
/// same way (`notspam.example`). An IPv4 address in the list blocks that address only.
///
/// Host names are compared in ASCII lower case, without a trailing dot. Internationalised names
/// must be listed in their `xn--` form, the form browsers send.
public struct ReferrerBlocklist: Sendable, Equatable {
    /// The listed hosts, lower case, without a trailing dot.
    public let hosts: Set<String>

    /// Whether nothing is listed, so nothing is blocked.
    public var isEmpty: Bool { hosts.isEmpty }

    /// Blocks nothing.
    public init() {
        hosts = []
    }

    /// Blocks `hosts`.
    /// - Throws: `InvalidValue` naming the first entry that is not a host name or IPv4 address.
    public init(hosts: some Sequence<some StringProtocol>) throws(InvalidValue) {
        var normalized: Set<String> = []
        for entry in hosts {
            guard let host = Self.normalizedHost(entry) else {
                throw InvalidValue(expected: "host names like spam.example, separated by commas ('\(entry)' is not one)")
            }
            normalized.insert(host)
        }
        self.hosts = normalized
    }

    /// Parses a comma-separated list (`spam.example, bad.test`), as in the configuration; spaces
    /// around entries and empty entries are ignored, so an empty text blocks nothing.
    /// - Throws: `InvalidValue` naming the first entry that is not a host name or IPv4 address.
    public init(parsing list: String) throws(InvalidValue) {
        try self.init(hosts: list.split(separator: ",").map { $0.trimmed(of: " \t") }.filter { !$0.isEmpty })
    }

    /// Whether the event with this referrer should be dropped: its URL's host is listed, or is a
    /// subdomain of a listed host name. Port, user information and a trailing dot do not matter. No
    /// referrer, or one that is not an absolute URL with a host, is never blocked.
    public func blocks(referrer: String?) -> Bool {
        guard let referrer, !hosts.isEmpty, let host = Self.host(ofURL: referrer) else { return false }
        if hosts.contains(host) { return true }
        if Self.isIPv4(host[...]) { return false }
        var rest = host[...]
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            if hosts.contains(String(rest)), !Self.isIPv4(rest) { return true }
        }
        return false
    }

    /// The host of an absolute URL (`scheme://[userinfo@]host[:port][/…]`, or `//host…`), in lower
    /// case, without a trailing dot; nil for anything else, an IPv6 literal included (never listed).
    static func host(ofURL text: String) -> String? {
        var rest = Substring(text.trimmed(of: " \t"))
        if let colon = rest.firstIndex(of: ":"), Self.isScheme(rest[..<colon]) {
            rest = rest[rest.index(after: colon)...]
        }
        guard rest.hasPrefix("//") else { return nil }
        rest = rest.dropFirst(2)
        let authority = rest.prefix { !"/?#\\".contains($0) }
        var hostAndPort = authority
        if let at = authority.lastIndex(of: "@") { hostAndPort = authority[authority.index(after: at)...] }
        var host = hostAndPort
        if let colon = hostAndPort.firstIndex(of: ":") {
            host = hostAndPort[..<colon]
            guard hostAndPort[hostAndPort.index(after: colon)...].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        }
        return normalizedHost(host)
    }

    /// `text` in lower case without one trailing dot, if it is a host name (labels of 1 to 63 ASCII
    /// letters, digits and inner hyphens, 253 characters at most) or an IPv4 address.
    static func normalizedHost(_ text: some StringProtocol) -> String? {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-",
                label.utf8.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "-") })
            else { return nil }
        }
        return name.lowercased()
    }

    /// `a.b.c.d` with each part a number from 0 to 255: matched exactly, never as a parent domain.
    private static func isIPv4(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }

    /// A URL scheme: a letter, then letters, digits, `+`, `-` or `.`.
    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, isLetterOrDigit(first), !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return text.utf8.allSatisfy { isLetterOrDigit($0) || "+-.".utf8.contains($0) }
    }

    /// `[A-Za-z0-9]`.
    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: false
        }
    }
}
