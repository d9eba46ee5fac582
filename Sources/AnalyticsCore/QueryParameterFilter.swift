/// Takes out of a URL the query parameters that are not to be stored: everything but the `utm_*`
/// campaign tags and the names an operator allows (`ANALYTICS_KEEP_QUERY_PARAMS`). Query strings
/// carry session tokens, e-mail addresses and search terms; analytics needs the page, not them.
public struct QueryParameterFilter: Sendable, Equatable {
    /// Parameter names kept besides `utm_*`, compared exactly.
    public let kept: Set<String>

    /// - Parameter kept: parameter names kept besides `utm_*`.
    public init(keeping kept: [String] = []) {
        self.kept = Set(kept)
    }

    /// The URL with only the kept parameters, in their order; without `?` when none is left. The
    /// fragment, if any, stays (the tracker sends one only when told to count fragment changes).
    public func filtered(_ url: String) -> String {
        // Scanned as bytes: this runs on every event, and most URLs have no query.
        let bytes = url.utf8
        let fragmentStart = bytes.firstIndex(of: UInt8(ascii: "#")) ?? url.endIndex
        guard let question = bytes[..<fragmentStart].firstIndex(of: UInt8(ascii: "?")) else { return url }
        let query = url[url.index(after: question)..<fragmentStart]
        let keptItems = query.split(separator: "&", omittingEmptySubsequences: true).filter { item in
            let name = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? item
            return isKept(name)
        }
        var result = String(url[..<question])
        if !keptItems.isEmpty { result += "?" + keptItems.joined(separator: "&") }
        result += url[fragmentStart...]
        return result
    }

    private func isKept(_ name: Substring) -> Bool {
        if name.hasPrefix("utm_") { return true }
        return !kept.isEmpty && kept.contains(name.percentDecoded ?? String(name))
    }
}
