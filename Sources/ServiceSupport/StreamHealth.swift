import AnalyticsCore
import Prometheus
import RedisClient

/// The health of the event stream as Prometheus gauges: its length, and per consumer group the lag
/// (entries not yet delivered), pending entries (delivered, not acknowledged) and consumers.
/// The consumers refresh it from their housekeeping.
public final class StreamHealth: Sendable {
    private let redis: RedisClient
    private let keyspace: RedisKeyspace
    private let length: Gauge
    private let lag: [String: Gauge]
    private let pending: [String: Gauge]
    private let consumers: [String: Gauge]

    /// Registers the gauges, at 0 for every group of the service until the first ``refresh()``.
    public init(redis: RedisClient, keyspace: RedisKeyspace, registry: MetricsRegistry) {
        self.redis = redis
        self.keyspace = keyspace
        let p = registry.prometheus
        length = p.makeGauge(name: "analytics_stream_length", help: "Entries in the event stream (XLEN)")
        var lag: [String: Gauge] = [:]
        var pending: [String: Gauge] = [:]
        var consumers: [String: Gauge] = [:]
        // The service's groups: their gauges always exist (at 0 before the group does).
        for group in ConsumerGroup.allCases.map(\.name) {
            lag[group] = p.makeGauge(
                name: "analytics_stream_group_lag", labels: [("group", group)],
                help: "Entries of the stream not yet delivered to the consumer group")
            pending[group] = p.makeGauge(
                name: "analytics_stream_group_pending", labels: [("group", group)],
                help: "Entries delivered to the consumer group and not yet acknowledged")
            consumers[group] = p.makeGauge(
                name: "analytics_stream_group_consumers", labels: [("group", group)],
                help: "Consumers known to the consumer group")
        }
        self.lag = lag
        self.pending = pending
        self.consumers = consumers
    }

    /// One consumer group as `XINFO GROUPS` describes it.
    public struct GroupInfo: Sendable, Equatable {
        public var name: String
        /// Consumers known to the group (dead ones included until deleted).
        public var consumers: Int
        /// Entries delivered to the group and not yet acknowledged.
        public var pending: Int
        /// The id of the last entry delivered to the group; `0-0` before any.
        public var lastDeliveredID: String
        /// Entries of the stream not yet delivered to the group; nil when Redis cannot tell (after
        /// some deletions, or before Redis 7).
        public var lag: Int?
    }

    /// `XINFO GROUPS`, parsed; empty when the stream does not exist yet. Also used by the archiver
    /// to decide how far it may trim the stream.
    public static func groups(of stream: String, on redis: RedisClient) async throws -> [GroupInfo] {
        let reply = try await redis.pipeline([RedisCommand("XINFO", "GROUPS", stream)])[0]
        if let message = reply.errorMessage {
            if message.contains("no such key") { return [] }
            throw RedisError.server(message)
        }
        guard let groups = reply.array else { throw RedisError.unexpectedReply("XINFO GROUPS") }
        return groups.compactMap { group -> GroupInfo? in
            guard let flat = group.array else { return nil }
            var fields: [String: RedisValue] = [:]
            var i = 0
            while i + 1 < flat.count {
                fields[flat[i].string ?? ""] = flat[i + 1]
                i += 2
            }
            guard let name = fields["name"]?.string else { return nil }
            return GroupInfo(
                name: name, consumers: fields["consumers"]?.int ?? 0, pending: fields["pending"]?.int ?? 0,
                lastDeliveredID: fields["last-delivered-id"]?.string ?? "0-0", lag: fields["lag"]?.int)
        }
    }

    /// Reads the stream's state and updates the gauges.
    public func refresh() async throws {
        let xlen = try await redis.send("XLEN", keyspace.stream).int ?? 0
        length.set(to: Double(xlen))
        let groups = try await Self.groups(of: keyspace.stream, on: redis)
        for info in groups {
            guard let lagGauge = lag[info.name] else { continue }
            // Unknown lag (Redis 7 after deletions) is reported as the whole stream: never as 0.
            lagGauge.set(to: Double(info.lag ?? xlen))
            pending[info.name]?.set(to: Double(info.pending))
            consumers[info.name]?.set(to: Double(info.consumers))
        }
    }
}
