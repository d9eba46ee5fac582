/// Which web origins may send events and open the live WebSocket, from `ANALYTICS_ALLOWED_ORIGINS`:
/// any (`*`, the default) or a list (`https://site.example, https://www.site.example`). Requests
/// without an `Origin` header (servers, curl, server-side pageviews) are not cross-origin requests
/// and are always allowed.
public enum OriginPolicy: Sendable, Equatable {
    case any
    /// Lower-case origins: scheme, host and port, no path.
    case list([String])

    /// Parses `*` or a comma-separated list of origins (an empty list is refused: it would refuse
    /// every browser).
    /// - Throws: `InvalidValue` naming the entry that is not an origin.
    public init(parsing text: String) throws(InvalidValue) {
        if text.trimmed(of: " \t") == "*" {
            self = .any
            return
        }
        var origins: [String] = []
        for item in text.split(separator: ",") {
            let origin = item.trimmed(of: " \t")
            guard !origin.isEmpty else { continue }
            guard let normalized = Self.normalized(origin) else {
                throw InvalidValue(expected: "* or origins like https://site.example ('\(origin)' is not one)")
            }
            origins.append(normalized)
        }
        guard !origins.isEmpty else { throw InvalidValue(expected: "* or a comma-separated list of origins") }
        self = .list(origins)
    }

    /// `scheme://host[:port]` in lower case, or nil when `text` is not such an origin.
    static func normalized(_ text: String) -> String? {
        let scheme = ["https://", "http://"].first { text.lowercased().hasPrefix($0) }
        guard let scheme else { return nil }
        let host = text.dropFirst(scheme.count)
        guard !host.isEmpty, !host.contains("/"), !host.contains("@"), !host.contains("?"), !host.contains("#") else { return nil }
        return text.lowercased()
    }

    /// Whether a request with this `Origin` header may go on. No header: yes.
    public func allows(_ origin: String?) -> Bool {
        guard let origin, case .list(let origins) = self else { return true }
        return origins.contains(origin.lowercased())
    }

    /// The `Access-Control-Allow-Origin` value for a request with this `Origin` header, and whether
    /// the answer depends on the header (`Vary: Origin`); nil when no CORS header is due (no
    /// `Origin`, or one that is not allowed).
    public func allowOriginHeader(for origin: String?) -> (value: String, variesByOrigin: Bool)? {
        guard let origin else { return nil }
        switch self {
        case .any: return ("*", false)
        case .list: return allows(origin) ? (origin, true) : nil
        }
    }
}
