import AnalyticsCore
import RedisClient
import ServiceSupport

/// Trims the event stream below what every consumer group has acknowledged — never a blind MAXLEN:
/// an entry leaves the stream only when no group can still need it. Nothing is trimmed while a
/// group the service needs does not exist yet (it would start from the beginning).
public struct StreamTrimmer: Sendable {
    let redis: RedisClient
    let keyspace: RedisKeyspace

    public init(redis: RedisClient, keyspace: RedisKeyspace) {
        self.redis = redis
        self.keyspace = keyspace
    }

    /// The lowest id any group may still need; nil when trimming is not safe.
    public func safeMinimumID() async throws -> StreamID? {
        let groups = try await StreamHealth.groups(of: keyspace.stream, on: redis)
        var floor: StreamID?
        for required in ConsumerGroup.allCases {
            guard let group = groups.first(where: { $0.name == required.name }) else { return nil }
            let groupFloor: StreamID
            let pending = try await redis.send("XPENDING", keyspace.stream, required.name)
            if let parts = pending.array, let count = parts.first?.int, count > 0, let oldest = parts[1].string.flatMap(StreamID.init) {
                groupFloor = oldest
            } else {
                guard let delivered = StreamID(group.lastDeliveredID) else { return nil }
                // Everything up to the last delivered entry is acknowledged: keep what follows.
                groupFloor = StreamID(milliseconds: delivered.milliseconds, sequence: delivered.sequence + 1)
            }
            floor = min(floor ?? groupFloor, groupFloor)
        }
        return floor
    }

    /// Trims; returns the number of entries removed.
    @discardableResult
    public func trim() async throws -> Int {
        guard let minimum = try await safeMinimumID() else { return 0 }
        // `~` removes only whole radix-tree nodes below the id: cheap, and never past it.
        return try await redis.send("XTRIM", keyspace.stream, "MINID", "~", minimum.description).int ?? 0
    }
}
