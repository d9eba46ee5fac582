import AnalyticsCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import RedisClient

/// `analytics-archiver rebuild [--since DAY]`: recomputes the Redis aggregates from PostgreSQL — the
/// period counters and unique-visitor HyperLogLogs of every day from `since` on (and of the weeks and
/// months those days belong to, over all their days), and the all-time top themes — so that losing
/// Redis loses nothing that matters. Days already archived count through their rollups and stored
/// HyperLogLog bytes. Exact when the pipeline is quiet (the archiver caught up): events the
/// aggregator counts while the rebuild runs may be counted twice.
///
/// Each period's keys are replaced whole and get the expiry the aggregator gives them. The work is
/// done in temporary keys, deleted at the end even when the rebuild fails.
public struct Rebuilder: Sendable {
    /// What a rebuild wrote.
    public struct Report: Sendable, Equatable {
        /// Days whose counters and HyperLogLog were written: the selected days with events.
        public var days = 0
        /// ISO weeks written.
        public var weeks = 0
        /// Months written.
        public var months = 0
        /// Events counted over the days written.
        public var events = 0
        /// Themes written to the top-themes set.
        public var themes = 0
    }

    let client: PostgresClient
    let redis: RedisClient
    let keyspace: RedisKeyspace
    let partitions: PartitionManager
    let themeCap: Int
    let logger: Logger

    /// - Parameters:
    ///   - client: the PostgreSQL pool the events and rollups are read from.
    ///   - redis: where the aggregates are written.
    ///   - keyspace: the Redis key names (the configured prefix).
    ///   - partitions: lists the days that still have raw events.
    ///   - themeCap: how many themes the top-themes set keeps, as the aggregator does.
    ///   - logger: for the queries.
    public init(
        client: PostgresClient, redis: RedisClient, keyspace: RedisKeyspace, partitions: PartitionManager, themeCap: Int = 1000,
        logger: Logger
    ) {
        self.client = client
        self.redis = redis
        self.keyspace = keyspace
        self.partitions = partitions
        self.themeCap = themeCap
        self.logger = logger
    }

    struct DayFigures {
        var total = 0
        var letters = 0
        /// Temporary HyperLogLog key of the day's visitors.
        var visitorsKey: String
    }

    /// Rebuilds the aggregates.
    /// - Parameters:
    ///   - since: the first UTC day rebuilt; nil for every day PostgreSQL keeps. The weeks and months
    ///     of the rebuilt days are recomputed over all their days, and the top themes over all time.
    ///   - nowMilliseconds: not used at present: every expiry is counted from the end of its period.
    /// - Returns: what was written.
    /// - Throws: PostgreSQL's or Redis's error; the periods written before it stay written.
    public func run(since: CivilDate?, nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> Report {
        let rawDays = Set(try await partitions.existingDays())
        var rolledUp = Set<CivilDate>()
        for try await day in try await client.query(
            "SELECT day::text FROM analytics_daily_rollups UNION SELECT day::text FROM analytics_daily_visitors", logger: logger
        ).decode(String.self) {
            if let d = CivilDate(iso: day) { rolledUp.insert(d) }
        }
        let allDays = rawDays.union(rolledUp)
        let selected = allDays.filter { since == nil || $0 >= since! }
        // Weeks and months are recomputed over all their days, not just the selected ones.
        let selectedBuckets = selected.map(TimeBucket.init(date:))
        let weeks = Set(selectedBuckets.map(\.weekName))
        let months = Set(selectedBuckets.map(\.monthName))
        let needed = allDays.filter {
            let b = TimeBucket(date: $0)
            return selected.contains($0) || weeks.contains(b.weekName) || months.contains(b.monthName)
        }

        let run = UUID().lowercasedString
        var temporaryKeys: [String] = []
        do {
            let report = try await rebuild(
                selected: selected, needed: needed, rawDays: rawDays, rolledUp: rolledUp, weeks: weeks, months: months, run: run,
                temporaryKeys: &temporaryKeys)
            await delete(temporaryKeys)
            return report
        } catch {
            await delete(temporaryKeys)
            throw error
        }
    }

    private func delete(_ keys: [String]) async {
        for chunk in stride(from: 0, to: keys.count, by: 500) {
            _ = try? await redis.send(RedisCommand(["DEL"] + Array(keys[chunk..<min(chunk + 500, keys.count)])))
        }
    }

    private func rebuild(
        selected: Set<CivilDate>, needed: Set<CivilDate>, rawDays: Set<CivilDate>, rolledUp: Set<CivilDate>, weeks: Set<String>,
        months: Set<String>, run: String, temporaryKeys: inout [String]
    ) async throws -> Report {
        var figures: [CivilDate: DayFigures] = [:]
        for day in needed.sorted() {
            var day_ = DayFigures(visitorsKey: "\(keyspace.prefix):tmp:rebuild:\(run):\(day.isoString)")
            temporaryKeys.append(day_.visitorsKey)
            try await redis.send("PFADD", day_.visitorsKey)
            if rawDays.contains(day) { try await addRaw(day, to: &day_) }
            if rolledUp.contains(day) { try await addRollup(day, to: &day_) }
            figures[day] = day_
        }

        var report = Report()
        // Days.
        for day in selected.sorted() {
            // Partitions exist ahead of time: a day without events gets no keys (as with the aggregator).
            guard let f = figures[day], f.total > 0 else { continue }
            let bucket = TimeBucket(date: day)
            try await write(
                period: .day, name: bucket.dayName, bucket: bucket, total: f.total, letters: f.letters, hllSources: [f.visitorsKey])
            report.days += 1
            report.events += f.total
        }
        // Weeks and months, summed over their days.
        for (period, names) in [(Period.week, weeks), (Period.month, months)] {
            for name in names.sorted() {
                let days = needed.filter { TimeBucket(date: $0).name(of: period) == name }.sorted()
                guard let last = days.last else { continue }
                let sum = days.reduce((0, 0)) { ($0.0 + figures[$1]!.total, $0.1 + figures[$1]!.letters) }
                guard sum.0 > 0 else { continue }
                try await write(
                    period: period, name: name, bucket: TimeBucket(date: last), total: sum.0, letters: sum.1,
                    hllSources: days.map { figures[$0]!.visitorsKey })
                if period == .week { report.weeks += 1 } else { report.months += 1 }
            }
        }
        report.themes = try await rebuildThemes(run: run)
        return report
    }

    private func addRaw(_ day: CivilDate, to figures: inout DayFigures) async throws {
        let partition = PartitionManager.name(of: day)
        let letterTypes = DomainEvent.letterTypes.sorted().map { "'\($0)'" }.joined(separator: ",")
        for try await (total, letters) in try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT count(*), count(*) FILTER (WHERE event_type = 'letter_generated' AND event_data->>'type' IN (\(letterTypes)))
                    FROM \(partition)
                    """), logger: logger
        ).decode((Int, Int).self) {
            figures.total += total
            figures.letters += letters
        }
        var chunk: [String] = []
        for try await visitor in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT DISTINCT visitor_id FROM \(partition)"), logger: logger
        ).decode(UUID.self) {
            chunk.append(visitor.lowercasedString)
            if chunk.count == 1000 {
                try await redis.send(RedisCommand(["PFADD", figures.visitorsKey] + chunk))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try await redis.send(RedisCommand(["PFADD", figures.visitorsKey] + chunk)) }
    }

    private func addRollup(_ day: CivilDate, to figures: inout DayFigures) async throws {
        let letterTypes = DomainEvent.letterTypes.sorted()
        for try await (total, letters) in try await client.query(
            """
            SELECT coalesce(sum(events), 0)::bigint,
                   coalesce(sum(events) FILTER (WHERE event_type = 'letter_generated' AND dimension = ANY(\(letterTypes))), 0)::bigint
            FROM analytics_daily_rollups WHERE day = \(day.isoString)::date
            """, logger: logger
        ).decode((Int, Int).self) {
            figures.total += total
            figures.letters += letters
        }
        for try await bytes in try await client.query(
            "SELECT visitors_hll FROM analytics_daily_visitors WHERE day = \(day.isoString)::date", logger: logger
        ).decode(ByteBuffer.self) {
            let stored = figures.visitorsKey + ":stored"
            var set = RedisCommand("SET", stored)
            set.append(Array(bytes.readableBytesView))
            try await redis.checkedPipeline([
                set, RedisCommand("PFMERGE", figures.visitorsKey, figures.visitorsKey, stored), RedisCommand("DEL", stored),
            ])
        }
    }

    /// Replaces one period's counters and HyperLogLog, with their expiry.
    private func write(period: Period, name: String, bucket: TimeBucket, total: Int, letters: Int, hllSources: [String]) async throws {
        let expiry = String(AggregateRetention.expiry(of: bucket, period))
        let hll = keyspace.uniqueVisitors(period, name)
        var commands = [
            RedisCommand("SET", keyspace.totalEvents(period, name), String(total), "EXAT", expiry),
            RedisCommand("DEL", hll),
            RedisCommand(["PFMERGE", hll] + hllSources),
            RedisCommand("EXPIREAT", hll, expiry),
        ]
        if letters > 0 {
            commands.append(RedisCommand("SET", keyspace.lettersGenerated(period, name), String(letters), "EXAT", expiry))
        } else {
            commands.append(RedisCommand("DEL", keyspace.lettersGenerated(period, name)))
        }
        try await redis.checkedPipeline(commands)
    }

    /// The all-time top themes from raw events and rollups, swapped in whole.
    private func rebuildThemes(run: String) async throws -> Int {
        let temporary = "\(keyspace.prefix):tmp:rebuild:\(run):themes"
        var commands: [RedisCommand] = [RedisCommand("DEL", temporary)]
        for try await (theme, views) in try await client.query(
            """
            SELECT theme, sum(views)::bigint FROM (
                SELECT event_data->>'theme' AS theme, count(*) AS views FROM analytics_events
                WHERE event_type = 'cv_theme_view' AND event_data->>'theme' IS NOT NULL GROUP BY 1
                UNION ALL
                SELECT dimension, sum(events) FROM analytics_daily_rollups
                WHERE event_type = 'cv_theme_view' AND dimension <> '' GROUP BY 1
            ) t GROUP BY theme ORDER BY 2 DESC LIMIT \(themeCap)
            """, logger: logger
        ).decode((String, Int).self) where EventRules.isValidTheme(theme) {
            commands.append(RedisCommand("ZADD", temporary, String(views), theme))
        }
        let count = commands.count - 1
        commands.append(count > 0 ? RedisCommand("RENAME", temporary, keyspace.topThemes) : RedisCommand("DEL", keyspace.topThemes))
        try await redis.checkedPipeline(commands, timeout: .seconds(30))
        return count
    }
}
