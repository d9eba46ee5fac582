import AnalyticsCore
import RedisClient

/// The read side of the REST API: the aggregates the aggregator keeps in Redis. The gateway answers
/// its read routes with it and the hubs their `initial_stats` and `heartbeat` messages. Periods are
/// the current UTC ones, and a key that does not exist (no event yet) reads as zero.
public struct StatsReader: Sendable {
    let redis: RedisClient
    let keyspace: RedisKeyspace
    let activeWindowMilliseconds: Int64

    /// - Parameter activeWindowSeconds: `ANALYTICS_ACTIVE_WINDOW_SEC`: how long a visitor counts as
    ///   current after their last event.
    public init(redis: RedisClient, keyspace: RedisKeyspace, activeWindowSeconds: Int) {
        self.redis = redis
        self.keyspace = keyspace
        self.activeWindowMilliseconds = Int64(activeWindowSeconds) * 1000
    }

    /// The live figures: `GET /api/analytics/realtime` and the hubs' stats messages.
    public struct Realtime: Sendable, Equatable {
        /// Visitors seen within the active window.
        public var currentVisitors: Int
        /// Distinct visitors of the current UTC day (a HyperLogLog estimate).
        public var uniqueToday: Int
        /// When the figures were read, in Unix seconds.
        public var timestamp: Int64

        public init(currentVisitors: Int, uniqueToday: Int, timestamp: Int64) {
            self.currentVisitors = currentVisitors
            self.uniqueToday = uniqueToday
            self.timestamp = timestamp
        }

        /// `{"current_visitors":…,"unique_today":…,"timestamp":…}`: the `data` of the REST answer and
        /// of the WebSocket `initial_stats` and `heartbeat` messages.
        public var json: JSONText {
            var data = JSONText()
            data.raw("{")
            data.field("current_visitors", Int64(currentVisitors))
            data.raw(",")
            data.field("unique_today", Int64(uniqueToday))
            data.raw(",")
            data.field("timestamp", timestamp)
            data.raw("}")
            return data
        }
    }

    /// The counters of the current day, week or month: `GET /api/analytics/stats`.
    public struct PeriodStats: Sendable, Equatable {
        public var period: Period
        /// Events counted in the period.
        public var totalEvents: Int
        /// `letter_generated` events counted in the period.
        public var lettersGenerated: Int
        /// Distinct visitors of the period (a HyperLogLog estimate).
        public var uniqueVisitors: Int
    }

    /// Visitors seen within the active window (counted by score, so the answer is right even when
    /// no batch has trimmed the set lately) and today's unique visitors, in one round trip.
    /// - Parameter nowMilliseconds: the current time (a parameter for tests).
    public func realtime(nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> Realtime {
        let day = TimeBucket(epochMilliseconds: nowMilliseconds).dayName
        let replies = try await redis.pipeline([
            RedisCommand("ZCOUNT", keyspace.activeVisitors, "(\(nowMilliseconds - activeWindowMilliseconds)", "+inf"),
            RedisCommand("PFCOUNT", keyspace.uniqueVisitors(.day, day)),
        ])
        return Realtime(
            currentVisitors: try Self.integer(replies[0]), uniqueToday: try Self.integer(replies[1]),
            timestamp: nowMilliseconds / 1000)
    }

    /// The counters of the `period` containing `nowMilliseconds`, in one round trip.
    public func stats(_ period: Period, nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> PeriodStats {
        let name = TimeBucket(epochMilliseconds: nowMilliseconds).name(of: period)
        let replies = try await redis.pipeline([
            RedisCommand("GET", keyspace.totalEvents(period, name)),
            RedisCommand("GET", keyspace.lettersGenerated(period, name)),
            RedisCommand("PFCOUNT", keyspace.uniqueVisitors(period, name)),
        ])
        return PeriodStats(
            period: period, totalEvents: try Self.integer(replies[0]), lettersGenerated: try Self.integer(replies[1]),
            uniqueVisitors: try Self.integer(replies[2]))
    }

    /// The `letter_generated` events of the `period` containing `nowMilliseconds`.
    public func letters(_ period: Period, nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> Int {
        let name = TimeBucket(epochMilliseconds: nowMilliseconds).name(of: period)
        return try Self.integer(try await redis.send("GET", keyspace.lettersGenerated(period, name)))
    }

    /// The most viewed themes of all time, most viewed first.
    /// - Parameter limit: how many; at least 1 (the gateway allows 1–20).
    public func topThemes(limit: Int) async throws -> [(theme: String, views: Int)] {
        let reply = try await redis.send("ZREVRANGE", keyspace.topThemes, "0", String(limit - 1), "WITHSCORES")
        guard let flat = reply.array else { throw RedisError.unexpectedReply("ZREVRANGE") }
        var themes: [(String, Int)] = []
        var i = 0
        while i + 1 < flat.count {
            themes.append((flat[i].string ?? "", Int(flat[i + 1].double ?? 0)))
            i += 2
        }
        return themes
    }

    /// A missing key is a zero; an error reply is an error.
    static func integer(_ value: RedisValue) throws -> Int {
        if value.isNull { return 0 }
        if let message = value.errorMessage { throw RedisError.server(message) }
        guard let n = value.int else { throw RedisError.unexpectedReply("integer") }
        return n
    }
}
