import AnalyticsCore
import Crypto
import Foundation
import RedisClient
import Synchronization

/// Who sent a request: the visitor id of a valid first-party cookie, or the cookieless id — a keyed
/// hash of the day's random salt, the client address and the user agent — which stays stable for a
/// visitor within a UTC day and cannot be traced back to the address.
public struct VisitorIdentity: Sendable, Equatable {
    public let visitorID: UUID
    /// The cookie to set: the request had no valid cookie and cookies are on.
    public let setCookie: Bool
}

public struct VisitorIdentifier: Sendable {
    public static let cookieName = "analytics_vid"
    /// A year; the id is pseudonymous and first-party.
    public static let cookieMaxAge = 365 * 86_400

    public let cookiesEnabled: Bool
    let salts: DailySaltStore
    let recent = RecentCookielessIDs()

    public init(cookiesEnabled: Bool, salts: DailySaltStore) {
        self.cookiesEnabled = cookiesEnabled
        self.salts = salts
    }

    /// The visitor id carried by a `Cookie` header, if well-formed. Scans the bytes: this runs on
    /// every request that has a cookie.
    public static func visitorID(fromCookieHeader header: String?) -> UUID? {
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
            return UUID(canonical: String(decoding: value, as: UTF8.self))
        }
        return nil
    }

    /// The cookieless id: HMAC-SHA256(salt, address ‖ 0 ‖ user agent), truncated to a UUID
    /// (version 8, "custom").
    public static func cookielessID(salt: SymmetricKey, clientAddress: IPAddress?, userAgent: String) -> UUID {
        var message = clientAddress?.bytes ?? []
        message.append(0)
        message.append(contentsOf: userAgent.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: salt)
        var bytes = Array(mac.prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80
        bytes[8] = bytes[8] & 0x3F | 0x80
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

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

    /// `identify` when it needs nothing from Redis (a cookie, or the day's salt already known);
    /// nil when the salt has to be fetched first.
    public func identifyWithoutWaiting(cookieHeader: String?, clientAddress: IPAddress?, userAgent: String, nowMilliseconds: Int64)
        -> VisitorIdentity?
    {
        if let id = Self.visitorID(fromCookieHeader: cookieHeader) {
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

    public static func setCookieHeader(for id: UUID) -> String {
        "\(cookieName)=\(id.lowercasedString); Path=/; Max-Age=\(cookieMaxAge); SameSite=Lax; HttpOnly"
    }
}

/// The cookieless salt of each UTC day, random, created once in Redis by whichever gateway asks
/// first (`SET NX`), so that every gateway instance derives the same id; it expires after two days.
public final class DailySaltStore: Sendable {
    private let redis: RedisClient
    private let keyspace: RedisKeyspace
    private let cached = Mutex<(day: String, key: SymmetricKey)?>(nil)

    public init(redis: RedisClient, keyspace: RedisKeyspace) {
        self.redis = redis
        self.keyspace = keyspace
    }

    /// The day's salt if this gateway already has it.
    public func cachedSalt(for day: String) -> SymmetricKey? {
        cached.withLock { $0?.day == day ? $0?.key : nil }
    }

    public func salt(for day: String) async throws -> SymmetricKey {
        if let hit = cachedSalt(for: day) { return hit }
        let key = keyspace.visitorSalt(day: day)
        let candidate = (0..<32).map { _ in UInt8.random(in: 0...255) }
        var set = RedisCommand("SET", key)
        set.append(candidate)
        set.append(contentsOf: ["NX", "EX", "172800"])
        let replies = try await redis.pipeline([set, RedisCommand("GET", key)])
        guard case .bulk(let bytes) = replies[1], bytes.count == 32 else {
            throw RedisError.unexpectedReply("salt \(key)")
        }
        let symmetric = SymmetricKey(data: bytes)
        cached.withLock { $0 = (day, symmetric) }
        return symmetric
    }
}

/// The cookieless ids computed lately, so a client sending many events without a cookie (a beacon,
/// an API) costs one HMAC a day, not one per event. Keyed by an in-process keyed hash of the address
/// and user agent (the address is not kept); bounded, and emptied when the day changes.
final class RecentCookielessIDs: Sendable {
    static let capacity = 65_536

    private struct State {
        var day = ""
        var ids: [Int: UUID] = [:]
    }

    private let state = Mutex(State())

    func id(day: String, clientAddress: IPAddress?, userAgent: String, compute: () -> UUID) -> UUID {
        var hasher = Hasher()
        hasher.combine(clientAddress)
        hasher.combine(userAgent)
        let key = hasher.finalize()
        if let hit = state.withLock({ $0.day == day ? $0.ids[key] : nil }) { return hit }
        let id = compute()
        state.withLock { state in
            if state.day != day || state.ids.count >= Self.capacity {
                state.day = day
                state.ids.removeAll(keepingCapacity: true)
            }
            state.ids[key] = id
        }
        return id
    }
}
