import AnalyticsCore
import Crypto
import Foundation

/// The visitor cookie's value, `<uuid>.<MAC>`: the id and 16 bytes of HMAC-SHA256 over it under a
/// key derived from the deployment's secret, in base64url. Only ids this deployment gave out are
/// believed, so a script cannot mint "unique visitors" by sending fresh UUIDs; a cookie that fails
/// the check is ignored (the visitor gets the cookieless id and a new cookie).
public struct VisitorCookie: Sendable {
    /// The HMAC with its key already absorbed: copied for each MAC, so the key's pads are not
    /// hashed again for every cookie.
    private let keyed: HMAC<SHA256>

    /// - Parameter secret: the deployment's secret, the same on every gateway.
    public init(secret: ServerSecret) {
        keyed = HMAC<SHA256>(key: secret.key(for: "visitor cookie"))
    }

    private func mac(_ text: String) -> [UInt8] {
        var hmac = keyed
        hmac.update(data: Array(text.utf8))
        return Array(hmac.finalize().prefix(16))
    }

    /// The signed value for `id`.
    public func value(for id: UUID) -> String {
        let text = id.lowercasedString
        return text + "." + Self.base64URL(mac(text))
    }

    /// The id a cookie value carries, if this deployment signed it; nil otherwise (a bare UUID, a
    /// forged or damaged MAC, another deployment's cookie).
    public func visitorID(fromValue value: String?) -> UUID? {
        guard let value, value.utf8.count == 36 + 1 + 22 else { return nil }
        let text = String(value.prefix(36)).lowercased()
        guard let id = UUID(canonical: text), value.utf8[value.utf8.index(value.utf8.startIndex, offsetBy: 36)] == UInt8(ascii: ".") else {
            return nil
        }
        let expected = mac(text)
        let given = Array(Self.base64URL(expected).utf8)
        let sent = Array(value.utf8.suffix(22))
        // Compared in constant time: the time taken says nothing about how much of a guess is right.
        var difference: UInt8 = 0
        for (a, b) in zip(given, sent) { difference |= a ^ b }
        return difference == 0 ? id : nil
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Base64url without padding (RFC 4648 §5), written directly: this runs for every new visitor.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            let characters = min(4, (bytes.count - i) * 4 / 3 + ((bytes.count - i) * 4 % 3 == 0 ? 0 : 1))
            for k in 0..<characters { out.append(alphabet[Int(group >> (18 - 6 * UInt32(k)) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
