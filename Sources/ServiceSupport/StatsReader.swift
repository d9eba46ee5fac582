import AnalyticsCore
import RedisClient

/// The read side of the REST API: the aggregates the aggregator keeps in Redis.
public struct StatsReader: Sendable {
    let redis: RedisClient
    let keyspace: RedisKeyspace
    let activeWindowMilliseconds: Int64

    public init(redis: RedisClient, keyspace: RedisKeyspace, activeWindowSeconds: Int) {
        self.redis = redis
        self.keyspace = keyspace
        self.activeWindowMilliseconds = Int64(activeWindowSeconds) * 1000
    }

    public struct Realtime: Sendable, Equatable {
        public var currentVisitors: Int
        public var uniqueToday: Int
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

    public struct PeriodStats: Sendable, Equatable {
        public var period: Period
        public var totalEvents: Int
        public var lettersGenerated: Int
        public var uniqueVisitors: Int
    }

    /// Visitors seen within the active window (counted by score, so the answer is right even when
    /// no batch has trimmed the set lately) and today's unique visitors.
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

    public func letters(_ period: Period, nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> Int {
        let name = TimeBucket(epochMilliseconds: nowMilliseconds).name(of: period)
        return try Self.integer(try await redis.send("GET", keyspace.lettersGenerated(period, name)))
    }

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
