import AnalyticsCore
import ArchiverKit
import Foundation
import PostgresNIO
import TestSupport
import Testing

@Suite("History rollups against real PostgreSQL", .serialized)
struct RollupIntegrationTests {
    /// 2026-11-27T13:00:00Z
    static let hour: Int64 = 1_795_784_400_000

    static func event(
        at ms: Int64, visitor: UUID, type: String = "pageview", path: String = "/", source: String = "", browser: String = "Firefox"
    ) -> AnalyticsEvent {
        var dimensions = EventDimensions()
        dimensions.host = "site.test"
        dimensions.path = path
        dimensions.referrerSource = source
        dimensions.browser = browser
        dimensions.device = "desktop"
        return AnalyticsEvent(
            id: UUID(), visitorID: visitor, eventType: type, pageURL: "https://site.test\(path)", createdAt: ms, dimensions: dimensions)
    }

    /// `dimension`'s rows of the day of `hour`: value → events, pageviews, visitors.
    static func dayRows(_ h: ArchiverHarness, dimension: String) async throws -> [String: [Int]] {
        let rows = try await h.client.query(
            """
            SELECT value, events, pageviews, hll_cardinality(visitors)::bigint FROM analytics_rollup_days
            WHERE dimension = \(dimension) AND day = '2026-11-27'
            """, logger: h.logger)
        var result: [String: [Int]] = [:]
        for try await (value, events, pageviews, visitors) in rows.decode((String, Int, Int, Int).self) {
            result[value] = [events, pageviews, visitors]
        }
        return result
    }

    static func hourRows(_ h: ArchiverHarness) async throws -> [Int64: [Int]] {
        let rows = try await h.client.query(
            """
            SELECT (extract(epoch FROM hour) * 1000)::bigint, events, pageviews, hll_cardinality(visitors)::bigint
            FROM analytics_rollup_hours
            """, logger: h.logger)
        var result: [Int64: [Int]] = [:]
        for try await (hour, events, pageviews, visitors) in rows.decode((Int64, Int, Int, Int).self) {
            result[hour] = [events, pageviews, visitors]
        }
        return result
    }

    @Test func theRollupsCountEveryStoredEventOnceByHourAndByDimensionValue() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let alice = UUID()
        let bob = UUID()
        let batch = [
            Self.event(at: Self.hour + 1_000, visitor: alice, path: "/", source: "Google"),
            Self.event(at: Self.hour + 2_000, visitor: alice, path: "/pricing", source: ""),
            Self.event(at: Self.hour + 3_000, visitor: bob, path: "/", source: "Google", browser: "Chrome"),
            Self.event(at: Self.hour + 4_000, visitor: bob, type: "signup", path: "/pricing"),
            Self.event(at: Self.hour + 3_600_000, visitor: bob, path: "/"),
        ]
        #expect(try await h.store.store(batch) == 5)
        // Delivered again (a crash before the acknowledgement), alone and within a larger batch.
        #expect(try await h.store.store(batch) == 0)
        let late = Self.event(at: Self.hour + 3_700_000, visitor: UUID(), path: "/about", source: "GitHub")
        #expect(try await h.store.store(Array(batch.prefix(2)) + [late]) == 1)

        #expect(try await Self.dayRows(h, dimension: "") == ["": [6, 5, 3]])
        #expect(try await Self.dayRows(h, dimension: "path") == ["/": [3, 3, 2], "/pricing": [2, 1, 2], "/about": [1, 1, 1]])
        #expect(try await Self.dayRows(h, dimension: "referrer_source") == ["Google": [2, 2, 2], "": [3, 2, 2], "GitHub": [1, 1, 1]])
        #expect(try await Self.dayRows(h, dimension: "event_type") == ["pageview": [5, 5, 3], "signup": [1, 0, 1]])
        #expect(try await Self.dayRows(h, dimension: "browser") == ["Firefox": [5, 4, 3], "Chrome": [1, 1, 1]])
        #expect(try await Self.hourRows(h) == [Self.hour: [4, 3, 2], Self.hour + 3_600_000: [2, 2, 2]])
    }

    @Test func eventsOfADayAlreadyArchivedRestoreTheirRowsButNotTheirCounts() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        try await h.client.query(
            "INSERT INTO analytics_archive_files (day, path, events) VALUES ('2026-11-27', '/archives/x.ndjson.gz', 1)", logger: h.logger)
        #expect(try await h.store.store([Self.event(at: Self.hour, visitor: UUID())]) == 1)
        #expect(try await Self.dayRows(h, dimension: "").isEmpty)
        #expect(try await Self.hourRows(h).isEmpty)
    }

    /// Every rollup row, as text, for comparing the history before and after a change.
    static func snapshot(_ h: ArchiverHarness) throws -> String {
        try h.postgres.psql(
            """
            SELECT coalesce(md5(string_agg(t, ',' ORDER BY t)), '') FROM (
                SELECT concat_ws('|', day, dimension, value, events, pageviews, hll_cardinality(visitors)) AS t FROM analytics_rollup_days
                UNION ALL
                SELECT concat_ws('|', hour, events, pageviews, hll_cardinality(visitors)) FROM analytics_rollup_hours) rows
            """)
    }

    @Test func retentionArchivesAndImportsLeaveTheRollupsAsTheyWereAndKeepEveryHoursCombinations() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let old = ArchiverHarness.daysAgo(100, hour: 22)
        let visitors = (0..<7).map { _ in UUID() }
        let events = (0..<300).map { (i: Int) -> AnalyticsEvent in
            let type = i % 5 == 0 ? "signup" : "pageview"
            let source = i % 2 == 0 ? "Google" : ""
            return Self.event(at: old + Int64(i) * 20_000, visitor: visitors[i % 7], type: type, path: "/p\(i % 3)", source: source)
        }
        #expect(try await h.store.store(events) == 300)
        let before = try Self.snapshot(h)
        #expect(try await Self.hourRows(h).values.map { $0[0] }.reduce(0, +) == 300)

        _ = try await h.retentionPass().run()
        #expect(try h.count() == 0)
        #expect(try Self.snapshot(h) == before)
        // The hours' combinations hold every event, and the same visitors as the raw rows did.
        let archived =
            "SELECT sum(events), sum(pageviews), hll_cardinality(hll_union_agg(visitors))::int FROM analytics_rollup_archived_hours"
        #expect(try h.postgres.psql(archived) == "300|240|7")
        #expect(
            try h.postgres.psql("SELECT count(DISTINCT (path, referrer_source, event_type)) FROM analytics_rollup_archived_hours") == "12")

        // Imported back: the raw rows return, the history does not count them again, and the next
        // pass drops them without touching the archive or the rollups.
        let file = h.archiveDirectory.url.appendingPathComponent(RetentionPass.archiveFileName(TimeBucket(epochMilliseconds: old).date))
        let importer = Importer(store: h.store, logger: h.logger, batchSize: 100, progress: nil)
        #expect(try await importer.importFile(file.path).inserted == 300)
        #expect(try Self.snapshot(h) == before)
        _ = try await h.retentionPass().run()
        #expect(try h.count() == 0)
        #expect(try Self.snapshot(h) == before)
        #expect(try h.postgres.psql(archived) == "300|240|7")
        #expect(try await importer.importFile(file.path).events == 300)
    }

    @Test func eventsStoredBeforeTheMigrationAreRolledUpByItAndARebuildRepairsTheRollups() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let migrator = try h.migrator
        #expect(try await migrator.migrateDown(to: 4) == [6, 5])
        _ = try h.postgres.psql(
            """
            SELECT analytics_ensure_partition('2026-11-27');
            INSERT INTO analytics_events (id, visitor_id, event_type, page_url, created_at)
            SELECT gen_random_uuid(), ('00000000-0000-4000-8000-00000000000' || (i % 3))::uuid,
                   CASE WHEN i % 4 = 0 THEN 'signup' ELSE 'pageview' END, 'https://site.test/', '2026-11-27 13:00:00+00'::timestamptz + i * interval '1 minute'
            FROM generate_series(1, 100) i
            """)
        #expect(try await migrator.migrateUp() == [5, 6])
        #expect(try await Self.dayRows(h, dimension: "") == ["": [100, 75, 3]])
        #expect(try await Self.dayRows(h, dimension: "event_type") == ["pageview": [75, 75, 3], "signup": [25, 0, 3]])
        #expect(try await Self.dayRows(h, dimension: "path") == ["": [100, 75, 3]])
        #expect(try await Self.hourRows(h).values.map { $0[0] }.reduce(0, +) == 100)
        let migrated = try Self.snapshot(h)

        // Rollups damaged by hand are recomputed exactly from the raw events.
        _ = try h.postgres.psql("UPDATE analytics_rollup_days SET events = 999; DELETE FROM analytics_rollup_hours")
        #expect(try h.postgres.psql("SELECT analytics_rebuild_rollups('2026-11-27', '2026-11-27')") == "100")
        #expect(try Self.snapshot(h) == migrated)
    }

    /// The rows of `analytics_rollup_weeks` that differ from the union of their week's day rows, and
    /// the closed weeks' rows that are missing: none when the weekly rollups are right.
    static func weekMismatches(_ h: ArchiverHarness) throws -> Int {
        Int(
            try h.postgres.psql(
                """
                SELECT count(*) FROM (
                    SELECT date_trunc('week', day::timestamp)::date AS week, dimension, value, sum(events) AS e, sum(pageviews) AS p,
                           hll_cardinality(hll_union_agg(visitors)) AS v
                    FROM analytics_rollup_days
                    WHERE date_trunc('week', day::timestamp)::date IN (SELECT week FROM analytics_rollup_closed_weeks)
                    GROUP BY 1, 2, 3) d
                FULL JOIN (SELECT week, dimension, value, events AS e, pageviews AS p, hll_cardinality(visitors) AS v
                           FROM analytics_rollup_weeks) w USING (week, dimension, value)
                WHERE d.e IS DISTINCT FROM w.e OR d.p IS DISTINCT FROM w.p OR d.v IS DISTINCT FROM w.v
                """)) ?? -1
    }

    @Test func aClosedWeekHoldsTheUnionOfItsDaysThroughLateEventsRebuildsAndRetention() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let visitors = (0..<9).map { _ in UUID() }
        // Five weeks of events, one every 7 hours from 40 days ago.
        let start = ArchiverHarness.daysAgo(40, hour: 0)
        let events = (0..<130).map { (i: Int) -> AnalyticsEvent in
            Self.event(
                at: start + Int64(i) * 7 * 3_600_000, visitor: visitors[i % 9], type: i % 4 == 0 ? "signup" : "pageview",
                path: "/p\(i % 3)",
                source: i % 2 == 0 ? "Google" : "")
        }
        #expect(try await h.store.store(events) == 130)
        #expect(try h.count("SELECT count(*) FROM analytics_rollup_weeks") == 0)
        let closed = try await h.store.closeWeeks()
        #expect(closed >= 5)
        #expect(try await h.store.closeWeeks() == 0)
        #expect(try h.count("SELECT count(*) FROM analytics_rollup_closed_weeks") == closed)
        #expect(try h.count("SELECT count(*) FROM analytics_rollup_weeks WHERE dimension = 'path'") > 0)
        #expect(try Self.weekMismatches(h) == 0)
        let weekTotal = "SELECT coalesce(sum(events), 0) FROM analytics_rollup_weeks WHERE dimension = ''"
        let before = try h.count(weekTotal)

        // A late batch into closed weeks (a lagging archiver, an import): the weeks get it too.
        let late = (0..<20).map { (i: Int) -> AnalyticsEvent in
            Self.event(at: start + Int64(i) * 24 * 3_600_000 + 1_000, visitor: UUID(), path: "/late", browser: "Chrome")
        }
        #expect(try await h.store.store(late) == 20)
        #expect(try Self.weekMismatches(h) == 0)
        #expect(try h.count(weekTotal) > before)

        // A rebuild of some days reopens their weeks and closes them again from the rebuilt days.
        _ = try h.postgres.psql("UPDATE analytics_rollup_weeks SET events = 0")
        let from = TimeBucket(epochMilliseconds: start).date
        let to = CivilDate(daysSinceEpoch: from.daysSinceEpoch + 30)
        _ = try h.postgres.psql("SELECT analytics_rebuild_rollups('\(from.isoString)', '\(to.isoString)')")
        #expect(try h.count("SELECT count(*) FROM analytics_rollup_closed_weeks") == closed)
        #expect(try Self.weekMismatches(h) == 0)

        // A retention pass: raw events past 20 days are archived (their rollups stay), rollups past
        // 30 days go; a week that loses a day goes whole, and may close again from the days left.
        _ = try await h.retentionPass(rawDays: 20, archiveDays: 30).run()
        let cutoff = TimeBucket(epochMilliseconds: ArchiverHarness.daysAgo(30)).date.isoString
        #expect(try h.count("SELECT count(*) FROM analytics_rollup_days WHERE day < '\(cutoff)'") == 0)
        #expect(try h.count("SELECT count(*) FROM analytics_rollup_days") > 0)
        #expect(try Self.weekMismatches(h) == 0)
        _ = try await h.store.closeWeeks()
        #expect(try Self.weekMismatches(h) == 0)
    }
}
