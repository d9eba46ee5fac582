import AnalyticsCore
import Crypto
import Foundation
import RedisClient
import Synchronization

/// The cookieless salt of each UTC day: 32 random bytes, created once in Redis by whichever gateway
/// asks first (`SET NX`), so that every gateway instance derives the same visitor id for the same
/// client. The key expires a short grace (``grace``, for clocks a little apart and requests
/// straddling midnight) after its day ends, after which nobody, not even with Redis's dumps, can
/// link that day's cookieless ids to addresses. Each gateway caches the current day's salt, so a salt
/// costs one round trip a day.
public final class DailySaltStore: Sendable {
    private let redis: RedisClient
    private let keyspace: RedisKeyspace
    private let cached = Mutex<(day: String, key: SymmetricKey)?>(nil)
    /// How long after its UTC day a salt is kept.
    public static let grace: Duration = .seconds(900)

    /// - Parameters:
    ///   - redis: the client that reads and creates the salt.
    ///   - keyspace: names the salt's key (`<prefix>:salt:<day>`).
    public init(redis: RedisClient, keyspace: RedisKeyspace) {
        self.redis = redis
        self.keyspace = keyspace
    }

    /// The day's salt if this gateway already has it; never waits on Redis.
    /// - Parameter day: the UTC day, as `TimeBucket.dayName` writes it (`2026-11-27`).
    public func cachedSalt(for day: String) -> SymmetricKey? {
        cached.withLock { $0?.day == day ? $0?.key : nil }
    }

    /// The day's salt, from the cache or from Redis. A fresh random salt is offered with `SET NX`
    /// and the key read back in the same pipeline, so the salt that wins is the first gateway's.
    /// - Parameter day: the UTC day, as `TimeBucket.dayName` writes it (`2026-11-27`).
    /// - Returns: the salt, as the key of the cookieless id's HMAC.
    /// - Throws: the Redis client's error when Redis cannot be reached in time, or
    ///   `RedisError.unexpectedReply` when the key does not hold a 32-byte salt.
    public func salt(for day: String) async throws -> SymmetricKey {
        if let hit = cachedSalt(for: day) { return hit }
        let key = keyspace.visitorSalt(day: day)
        let candidate = (0..<32).map { _ in UInt8.random(in: 0...255) }
        var set = RedisCommand("SET", key)
        set.append(candidate)
        guard let date = CivilDate(iso: day) else { throw RedisError.unexpectedReply("day \(day)") }
        let expiry = Int64(date.daysSinceEpoch + 1) * 86_400 + Self.grace.inMilliseconds / 1000
        set.append(contentsOf: ["NX", "EXAT", String(expiry)])
        let replies = try await redis.pipeline([set, RedisCommand("GET", key)])
        guard case .bulk(let bytes) = replies[1], bytes.count == 32 else {
            throw RedisError.unexpectedReply("salt \(key)")
        }
        let symmetric = SymmetricKey(data: bytes)
        cached.withLock { $0 = (day, symmetric) }
        return symmetric
    }
}
