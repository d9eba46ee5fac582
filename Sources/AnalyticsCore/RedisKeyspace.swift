/// Every Redis key, stream and channel name of the service, under one configurable prefix
/// (docs/data-layout.md). Nothing else in the code spells a key.
public struct RedisKeyspace: Sendable, Hashable {
    /// `ANALYTICS_KEY_PREFIX`: it also separates deployments that share one Redis server.
    public let prefix: String

    public init(prefix: String = "analytics") {
        self.prefix = prefix
    }

    /// The event stream, read by the consumer groups.
    public var stream: String { "\(prefix):events" }
    /// Pub/sub channel of live updates. Channels are global across logical databases, hence the prefix.
    public var realtimeChannel: String { "\(prefix):realtime" }
    /// Sorted set of visitors seen recently, scored by last-seen time in milliseconds.
    public var activeVisitors: String { "\(prefix):realtime:visitors" }
    /// Sorted set of all-time `cv_theme_view` counts per theme, trimmed to the most viewed.
    public var topThemes: String { "\(prefix):themes:top" }

    /// Counter of the events counted in one period.
    /// - Parameters:
    ///   - period: the kind of period.
    ///   - name: the period's name, from ``TimeBucket/name(of:)`` (`2026-11-27`, `2026-W48`, `2026-11`).
    public func totalEvents(_ period: Period, _ name: String) -> String {
        "\(prefix):stats:\(period.rawValue):\(name):total_events"
    }

    /// Counter of the `letter_generated` events with a valid letter type in one period; `name` as in
    /// ``totalEvents(_:_:)``.
    public func lettersGenerated(_ period: Period, _ name: String) -> String {
        "\(prefix):stats:\(period.rawValue):\(name):letters_generated"
    }

    /// HyperLogLog of the visitor ids seen in one period; `name` as in ``totalEvents(_:_:)``.
    public func uniqueVisitors(_ period: Period, _ name: String) -> String {
        "\(prefix):visitors:unique:\(period.rawValue):\(name)"
    }

    /// The random salt of the cookieless visitor id for one UTC day, shared by every gateway.
    /// - Parameter day: the day, `YYYY-MM-DD`.
    public func visitorSalt(day: String) -> String { "\(prefix):salt:\(day)" }

    /// Set (with a short expiry) by every live consumer of `group`; the gateway's readiness reads it.
    public func consumerAlive(group: ConsumerGroup) -> String { "\(prefix):alive:\(group.name)" }

    /// Stream of entries the consumers could not process, with the reason (never silently dropped).
    public var deadLetters: String { "\(prefix):events:dead" }

    /// One client's rate-limit state (a GCRA arrival time, expiring with it), by a keyed hash of
    /// its address block: every gateway shares it, and the address is not in Redis.
    public func rateLimit(client: String) -> String { "\(prefix):ratelimit:\(client)" }

    /// An event id a client chose, remembered with the stream entry it became, so that the same
    /// event sent again is answered and not stored twice.
    public func eventID(_ id: String) -> String { "\(prefix):eventid:\(id)" }
}
