import AnalyticsCore
import Crypto
import Foundation
import RedisClient
import Synchronization

/// Gives each event its visitor, as a ``VisitorIdentity``: the id of a valid `analytics_vid`
/// cookie (one this deployment signed: `<uuid>.<MAC>`, see ``VisitorCookie``), or else the cookieless id, an HMAC of the client address and user agent under the day's
/// salt (``DailySaltStore``). The cookieless ids computed lately are remembered for the day, so a
/// client sending many events without a cookie costs one HMAC a day.
public struct VisitorIdentifier: Sendable {
    /// The first-party cookie that carries the visitor id.
    public static let cookieName = "analytics_vid"
    /// The cookie's lifetime in seconds: a year; the id is pseudonymous and first-party.
    public static let cookieMaxAge = 365 * 86_400

    /// Whether a visitor without a valid cookie is given one (`ANALYTICS_COOKIES`); when off, such a
    /// visitor is known by its cookieless id on every request.
    public let cookiesEnabled: Bool
    let salts: DailySaltStore
    /// Signs and checks the cookie's id.
    public let cookie: VisitorCookie
    let recent = RecentCookielessIDs()

    /// - Parameters:
    ///   - cookiesEnabled: whether a visitor without a valid cookie is given one.
    ///   - salts: the days' salts of the cookieless ids.
    ///   - cookie: signs the ids the gateway gives and checks those it is sent.
    public init(cookiesEnabled: Bool, salts: DailySaltStore, cookie: VisitorCookie) {
        self.cookiesEnabled = cookiesEnabled
        self.salts = salts
        self.cookie = cookie
    }

    /// The value of the first `analytics_vid` cookie of a `Cookie` header, as sent. Scans the bytes:
    /// this runs on every request that has a cookie.
    public static func cookieValue(fromCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        let name = Array(cookieName.utf8)
        let bytes = Array(header.utf8)
        var i = 0
        while i < bytes.count {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
            let pairStart = i
            while i < bytes.count, bytes[i] != UInt8(ascii: ";") { i += 1 }
            let pair = bytes[pairStart..<i]
            i += 1
            guard let eq = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
            var nameEnd = eq
            while nameEnd > pair.startIndex, bytes[nameEnd - 1] == 0x20 || bytes[nameEnd - 1] == 0x09 { nameEnd -= 1 }
            guard bytes[pair.startIndex..<nameEnd].elementsEqual(name) else { continue }
            var value = bytes[(eq + 1)..<pair.endIndex]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            // The first cookie of that name decides, as browsers send the most specific first.
            return String(decoding: value, as: UTF8.self)
        }
        return nil
    }

    /// The cookieless id: HMAC-SHA256(salt, address ‖ 0 ‖ user agent), truncated to a UUID
    /// (version 8, "custom"). The same client gets the same id all day, and the id cannot be traced
    /// back to the address without the salt, which is forgotten after two days.
    /// - Parameters:
    ///   - salt: the day's salt.
    ///   - clientAddress: nil when unknown (a Unix socket): the id then depends on the user agent
    ///     only.
    ///   - userAgent: the `User-Agent` header, empty when absent.
    public static func cookielessID(salt: SymmetricKey, clientAddress: IPAddress?, userAgent: String) -> UUID {
        var message = clientAddress?.bytes ?? []
        message.append(0)
        message.append(contentsOf: userAgent.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: salt)
        var bytes = Array(mac.prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80
        bytes[8] = bytes[8] & 0x3F | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// The visitor of a request, fetching the day's salt from Redis when this gateway does not
    /// have it yet.
    /// - Parameters:
    ///   - cookieHeader: the `Cookie` header, if any.
    ///   - clientAddress: the client's address (behind trusted proxies), nil when unknown.
    ///   - userAgent: the `User-Agent` header, empty when absent.
    ///   - nowMilliseconds: the request's time, whose UTC day picks the salt.
    /// - Throws: what ``DailySaltStore/salt(for:)`` throws, when the salt has to be fetched and
    ///   Redis cannot give it.
    public func identify(cookieHeader: String?, clientAddress: IPAddress?, userAgent: String, nowMilliseconds: Int64)
        async throws -> VisitorIdentity
    {
        if let identity = identifyWithoutWaiting(
            cookieHeader: cookieHeader, clientAddress: clientAddress, userAgent: userAgent, nowMilliseconds: nowMilliseconds)
        {
            return identity
        }
        let day = TimeBucket(epochMilliseconds: nowMilliseconds).dayName
        return cookieless(day: day, salt: try await salts.salt(for: day), clientAddress: clientAddress, userAgent: userAgent)
    }

    /// ``identify(cookieHeader:clientAddress:userAgent:nowMilliseconds:)`` when it needs nothing from
    /// Redis (a cookie, or the day's salt already known), for callers that must not wait: nil when
    /// the salt has to be fetched first.
    public func identifyWithoutWaiting(cookieHeader: String?, clientAddress: IPAddress?, userAgent: String, nowMilliseconds: Int64)
        -> VisitorIdentity?
    {
        if let id = cookie.visitorID(fromValue: Self.cookieValue(fromCookieHeader: cookieHeader)) {
            return VisitorIdentity(visitorID: id, setCookie: false)
        }
        let day = TimeBucket(epochMilliseconds: nowMilliseconds).dayName
        guard let salt = salts.cachedSalt(for: day) else { return nil }
        return cookieless(day: day, salt: salt, clientAddress: clientAddress, userAgent: userAgent)
    }

    private func cookieless(day: String, salt: SymmetricKey, clientAddress: IPAddress?, userAgent: String) -> VisitorIdentity {
        let id = recent.id(day: day, clientAddress: clientAddress, userAgent: userAgent) {
            Self.cookielessID(salt: salt, clientAddress: clientAddress, userAgent: userAgent)
        }
        return VisitorIdentity(visitorID: id, setCookie: cookiesEnabled)
    }

    /// The `Set-Cookie` value that gives a visitor its signed id: the whole site, a year,
    /// `SameSite=Lax`, `HttpOnly`, and `Secure` when the page came over HTTPS.
    public func setCookieHeader(for id: UUID, secure: Bool) -> String {
        Self.setCookieHeader(value: cookie.value(for: id), secure: secure)
    }

    /// The `Set-Cookie` value for a cookie value already signed.
    public static func setCookieHeader(value: String, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=/; Max-Age=\(cookieMaxAge); SameSite=Lax; HttpOnly\(secure ? "; Secure" : "")"
    }
}
