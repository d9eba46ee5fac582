import AnalyticsCore
import RedisClient
import ServiceSupport

/// Trims the event stream below what every consumer group has acknowledged — never a blind MAXLEN:
/// an entry leaves the stream only when no group can still need it. Nothing is trimmed while a
/// group the service needs does not exist yet (it would start from the beginning).
///
/// ``ArchivingProcessor`` runs it from its housekeeping, every 10 s.
public struct StreamTrimmer: Sendable {
    let redis: RedisClient
    let keyspace: RedisKeyspace

    /// - Parameters:
    ///   - redis: the connection the group state is read and the stream trimmed on.
    ///   - keyspace: names the stream.
    public init(redis: RedisClient, keyspace: RedisKeyspace) {
        self.redis = redis
        self.keyspace = keyspace
    }

    /// The lowest id any group may still need: for each of the `aggregator` and `archiver` groups,
    /// its oldest pending entry or, when none is pending, the id just after its last delivered entry.
    /// - Returns: the lowest of those, or nil when trimming is not safe (a group is missing, or its
    ///   last delivered id cannot be read).
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

    /// Trims the stream below ``safeMinimumID()``, approximately (`MINID ~`): whole radix-tree nodes
    /// only, so some entries below the id may stay until a later trim.
    /// - Returns: the number of entries removed; 0 when trimming is not safe.
    @discardableResult
    public func trim() async throws -> Int {
        guard let minimum = try await safeMinimumID() else { return 0 }
        // `~` removes only whole radix-tree nodes below the id: cheap, and never past it.
        return try await redis.send("XTRIM", keyspace.stream, "MINID", "~", minimum.description).int ?? 0
    }
}
