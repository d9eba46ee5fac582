import AnalyticsCore
import Crypto
import Foundation

/// The visitor cookie's value, `<uuid>.<MAC>`: the id and 16 bytes of HMAC-SHA256 over it under a
/// key derived from the deployment's secret, in base64url. Only ids this deployment gave out are
/// believed, so a script cannot mint "unique visitors" by sending fresh UUIDs; a cookie that fails
/// the check is ignored (the visitor gets the cookieless id and a new cookie).
public struct VisitorCookie: Sendable {
    private let key: SymmetricKey

    /// - Parameter secret: the deployment's secret, the same on every gateway.
    public init(secret: ServerSecret) {
        key = secret.key(for: "visitor cookie")
    }

    /// The signed value for `id`.
    public func value(for id: UUID) -> String {
        let text = id.lowercasedString
        return text + "." + Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key).prefix(16)))
    }

    /// The id a cookie value carries, if this deployment signed it; nil otherwise (a bare UUID, a
    /// forged or damaged MAC, another deployment's cookie).
    public func visitorID(fromValue value: String?) -> UUID? {
        guard let value, value.utf8.count == 36 + 1 + 22 else { return nil }
        let text = String(value.prefix(36)).lowercased()
        guard let id = UUID(canonical: text), value.utf8[value.utf8.index(value.utf8.startIndex, offsetBy: 36)] == UInt8(ascii: ".") else {
            return nil
        }
        let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key).prefix(16))
        let given = Array(Self.base64URL(expected).utf8)
        let sent = Array(value.utf8.suffix(22))
        // Compared in constant time: the time taken says nothing about how much of a guess is right.
        var difference: UInt8 = 0
        for (a, b) in zip(given, sent) { difference |= a ^ b }
        return difference == 0 ? id : nil
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
