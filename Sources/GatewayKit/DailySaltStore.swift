import AnalyticsCore
import Crypto
import Foundation
import RedisClient
import Synchronization

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
