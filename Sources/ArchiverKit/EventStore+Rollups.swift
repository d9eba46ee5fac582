import AnalyticsCore
import Foundation
import Logging
import NIOCore
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
        let archived = try await listed(days, in: "analytics_archive_files", column: "day", connection: connection)
        let batch =
            archived.isEmpty
            ? RollupBatch(events) : RollupBatch(events.lazy.filter { !archived.contains(TimeBucket(epochMilliseconds: $0.createdAt).date) })
        guard !batch.isEmpty else { return }
        // Hours before days before weeks, each in key order: concurrent archivers lock rows in the
        // same order.
        try await upsertHours(batch.sortedHours, connection: connection)
        try await upsert(batch.sortedDays, into: .days, connection: connection)
        // Only now, with the day rows written: a week closing meanwhile waited for this transaction
        // (its lock conflicts with the upsert's) and will count these days, or closed before the
        // upsert and is seen closed here, in which case its rows get the batch too.
        let closed = try await listed(batch.weeks, in: "analytics_rollup_closed_weeks", column: "week", connection: connection)
        if !closed.isEmpty {
            try await upsert(batch.weekRows(of: closed), into: .weeks, connection: connection)
        }
    }

    /// Closes the weeks that are over (`analytics_close_weeks`): their rows in
    /// `analytics_rollup_weeks` let breakdowns over months merge one sketch per week and value
    /// instead of seven. Cheap when there is nothing to close.
    /// - Returns: the number of weeks closed.
    @discardableResult
    public func closeWeeks() async throws -> Int {
        let rows = try await client.query("SELECT analytics_close_weeks()", logger: logger)
        var closed = 0
        for try await count in rows.decode(Int32.self) { closed = Int(count) }
        return closed
    }

    /// The dates among `dates` that a table lists: the archived days (`analytics_archive_files`),
    /// the closed weeks (`analytics_rollup_closed_weeks`, by their Mondays).
    private func listed(_ dates: Set<CivilDate>, in table: String, column: String, connection: PostgresConnection) async throws
        -> Set<CivilDate>
    {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: column)::text FROM \(unescaped: table) WHERE \(unescaped: column) = ANY(\(dates.map(\.isoString))::date[])
            """, logger: logger)
        var found = Set<CivilDate>()
        for try await text in rows.decode(String.self) {
            if let date = CivilDate(iso: text) { found.insert(date) }
        }
        return found
    }

    /// Each row's visitors as the bytes of its sketch (``VisitorSketch``): PostgreSQL only merges them.
    private static func sketches(_ rows: some Sequence<RollupBatch.Counts>) -> [ByteBuffer] {
        rows.map { VisitorSketch.sketch(ofHashes: $0.visitors) }
    }

    private func upsertHours(_ hours: [(start: Int64, counts: RollupBatch.Counts)], connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO analytics_rollup_hours AS r (hour, events, pageviews, visitors)
            SELECT to_timestamp(g.start), g.events, g.pageviews, g.sketch::hll
            FROM unnest(\(hours.map(\.start))::int8[], \(hours.map(\.counts.events))::int8[], \(hours.map(\.counts.pageviews))::int8[],
                        \(Self.sketches(hours.lazy.map(\.counts)))::bytea[]) WITH ORDINALITY AS g(start, events, pageviews, sketch, n)
            ORDER BY g.n
            ON CONFLICT (hour) DO UPDATE
            SET events = r.events + EXCLUDED.events, pageviews = r.pageviews + EXCLUDED.pageviews,
                visitors = hll_union(r.visitors, EXCLUDED.visitors)
            """, logger: logger)
    }

    /// The tables of counts per period and dimension value.
    enum PeriodTable {
        case days, weeks

        var name: String { self == .days ? "analytics_rollup_days" : "analytics_rollup_weeks" }
        var column: String { self == .days ? "day" : "week" }
    }

    /// Adds counts to rows of `table`; each key's day is the row's day, or its week's Monday.
    private func upsert(
        _ rows: [(key: RollupBatch.DayKey, counts: RollupBatch.Counts)], into table: PeriodTable, connection: PostgresConnection
    )
        async throws
    {
        try await connection.query(
            """
            INSERT INTO \(unescaped: table.name) AS r (\(unescaped: table.column), dimension, value, events, pageviews, visitors)
            SELECT g.day::date, g.dimension, g.value, g.events, g.pageviews, g.sketch::hll
            FROM unnest(\(rows.map(\.key.day.isoString))::text[], \(rows.map(\.key.dimension))::text[],
                        \(rows.map(\.key.value))::text[], \(rows.map(\.counts.events))::int8[], \(rows.map(\.counts.pageviews))::int8[],
                        \(Self.sketches(rows.lazy.map(\.counts)))::bytea[])
                 WITH ORDINALITY AS g(day, dimension, value, events, pageviews, sketch, n)
            ORDER BY g.n
            ON CONFLICT (dimension, \(unescaped: table.column), value) DO UPDATE
            SET events = r.events + EXCLUDED.events, pageviews = r.pageviews + EXCLUDED.pageviews,
                visitors = hll_union(r.visitors, EXCLUDED.visitors)
            """, logger: logger)
    }
}
