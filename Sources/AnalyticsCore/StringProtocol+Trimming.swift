extension StringProtocol {
    /// The text without the leading and trailing characters that are in `set` (Foundation-free).
    public func trimmed(of set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }

    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String { trimmed(of: " \t") }
}
