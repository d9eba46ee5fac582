import Foundation

/// Takes secrets out of text that goes to logs and error messages.
public enum Redaction {
    /// The text with the password of every URL in it (`scheme://user:password@host`) replaced by
    /// `***`: configuration values and the errors that quote them name their server, never its
    /// password.
    public static func redactingPasswords(in text: String) -> String {
        guard text.contains("://") else { return text }
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            // The authority ends at the first `/`, `?`, `#` or white space; its credentials at its last `@`.
            let authorityEnd = rest.firstIndex { "/?# \t\n".contains($0) } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[...colon]
                result += "***"
                result += authority[at...]
                rest = rest[authorityEnd...]
            }
        }
        result += rest
        return result
    }
}
