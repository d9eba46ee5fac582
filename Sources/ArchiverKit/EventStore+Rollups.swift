import AnalyticsCore
import Foundation
import Logging
import PostgresNIO

extension EventStore {
    /// Adds the events a transaction has just inserted to the hourly and daily rollups, in that
    /// transaction: the rollups then hold every stored event exactly once, whatever crashes,
    /// re-deliveries or imports happen. Events of days the retention pass has already archived are
    /// left out (an import restoring such a day's raw rows must not count it again: its rollups
    /// already hold it).
    /// - Parameters:
    ///   - events: the events this transaction inserted (not those it skipped as already stored).
    ///   - connection: the transaction's connection.
    func addToRollups(_ events: [AnalyticsEvent], connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        let days = Set(events.map { TimeBucket(epochMilliseconds: $0.createdAt).date })
        let archived = try await archivedDays(among: days, connection: connection)
        let batch =
            archived.isEmpty
            ? RollupBatch(events) : RollupBatch(events.lazy.filter { !archived.contains(TimeBucket(epochMilliseconds: $0.createdAt).date) })
        guard !batch.isEmpty else { return }
        // Hours before days, each in key order: concurrent archivers lock rows in the same order.
        try await upsertHours(batch.sortedHours, connection: connection)
        try await upsertDays(batch.sortedDays, connection: connection)
    }

    /// The days among `days` whose raw events the retention pass has archived.
    private func archivedDays(among days: Set<CivilDate>, connection: PostgresConnection) async throws -> Set<CivilDate> {
        let rows = try await connection.query(
            "SELECT day::text FROM analytics_archive_files WHERE day = ANY(\(days.map(\.isoString))::date[])", logger: logger)
        var archived = Set<CivilDate>()
        for try await day in rows.decode(String.self) {
            if let date = CivilDate(iso: day) { archived.insert(date) }
        }
        return archived
    }

    /// The visitors of each group as two parallel arrays: the group's position (from 1, as `WITH
    /// ORDINALITY` numbers rows) and the visitor id.
    private static func visitorPairs(_ groups: some Sequence<RollupBatch.Counts>) -> (groups: [Int64], visitors: [UUID]) {
        var numbers: [Int64] = []
        var visitors: [UUID] = []
        for (index, counts) in groups.enumerated() {
            numbers.append(contentsOf: repeatElement(Int64(index + 1), count: counts.visitors.count))
            visitors.append(contentsOf: counts.visitors)
        }
        return (numbers, visitors)
    }

    private func upsertHours(_ hours: [(start: Int64, counts: RollupBatch.Counts)], connection: PostgresConnection) async throws {
        let pairs = Self.visitorPairs(hours.lazy.map(\.counts))
        try await connection.query(
            """
            INSERT INTO analytics_rollup_hours AS r (hour, events, pageviews, visitors)
            SELECT to_timestamp(g.start), g.events, g.pageviews, v.sketch
            FROM unnest(\(hours.map(\.start))::int8[], \(hours.map(\.counts.events))::int8[], \(hours.map(\.counts.pageviews))::int8[])
                 WITH ORDINALITY AS g(start, events, pageviews, n)
            JOIN (SELECT n, hll_add_agg(analytics_visitor_hash(visitor)) AS sketch
                  FROM unnest(\(pairs.groups)::int8[], \(pairs.visitors)::uuid[]) AS p(n, visitor) GROUP BY n) v ON v.n = g.n
            ORDER BY g.n
            ON CONFLICT (hour) DO UPDATE
            SET events = r.events + EXCLUDED.events, pageviews = r.pageviews + EXCLUDED.pageviews,
                visitors = hll_union(r.visitors, EXCLUDED.visitors)
            """, logger: logger)
    }

    private func upsertDays(_ days: [(key: RollupBatch.DayKey, counts: RollupBatch.Counts)], connection: PostgresConnection) async throws {
        let pairs = Self.visitorPairs(days.lazy.map(\.counts))
        try await connection.query(
            """
            INSERT INTO analytics_rollup_days AS r (day, dimension, value, events, pageviews, visitors)
            SELECT g.day::date, g.dimension, g.value, g.events, g.pageviews, v.sketch
            FROM unnest(\(days.map(\.key.day.isoString))::text[], \(days.map(\.key.dimension))::text[],
                        \(days.map(\.key.value))::text[], \(days.map(\.counts.events))::int8[], \(days.map(\.counts.pageviews))::int8[])
                 WITH ORDINALITY AS g(day, dimension, value, events, pageviews, n)
            JOIN (SELECT n, hll_add_agg(analytics_visitor_hash(visitor)) AS sketch
                  FROM unnest(\(pairs.groups)::int8[], \(pairs.visitors)::uuid[]) AS p(n, visitor) GROUP BY n) v ON v.n = g.n
            ORDER BY g.n
            ON CONFLICT (dimension, day, value) DO UPDATE
            SET events = r.events + EXCLUDED.events, pageviews = r.pageviews + EXCLUDED.pageviews,
                visitors = hll_union(r.visitors, EXCLUDED.visitors)
            """, logger: logger)
    }
}
