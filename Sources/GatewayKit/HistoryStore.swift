import AnalyticsCore
import Foundation
import Logging
import PostgresNIO

/// Answers ``HistoryRequest``s from PostgreSQL, which the archiver keeps exact and seconds behind
/// the stream.
///
/// Without filters the answers come from the rollups (`analytics_rollup_hours`, and
/// `analytics_rollup_days` per dimension value, `analytics_rollup_weeks` for the weeks that are
/// over), a few rows per day whatever the traffic. With
/// filters they come from the raw events of the days still held raw and from the hourly
/// combinations the retention pass kept of the archived days (`analytics_rollup_archived_hours`).
/// Visitors are counted everywhere by the same sketch of the same hash, so an answer is the same
/// before and after a retention pass.
public struct HistoryStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// - Parameters:
    ///   - client: the pool the history is read from (`ANALYTICS_DATABASE_READ_URL`, or the database).
    ///   - logger: for the queries.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The counts of one timeseries point or one breakdown row.
    public struct Counts: Sendable, Equatable {
        public var events: Int64
        public var pageviews: Int64
        public var visitors: Int64

        /// - Parameters:
        ///   - events: the events.
        ///   - pageviews: the pageviews among them.
        ///   - visitors: their distinct visitors.
        public init(events: Int64 = 0, pageviews: Int64 = 0, visitors: Int64 = 0) {
            self.events = events
            self.pageviews = pageviews
            self.visitors = visitors
        }

        /// The count of one metric.
        public subscript(metric: HistoryRequest.Metric) -> Int64 {
            switch metric {
            case .events: events
            case .pageviews: pageviews
            case .visitors: visitors
            }
        }
    }

    /// A timeseries: the counts of each interval that has events, by the interval's start (seconds
    /// since the Unix epoch, UTC). ``HistoryTimeline`` adds the empty intervals.
    public func timeseries(_ request: HistoryRequest, interval: HistoryRequest.Interval, metric: HistoryRequest.Metric) async throws
        -> [Int64: Counts]
    {
        let visitors = metric == .visitors
        let sql: String
        var binds = PostgresBindings()
        if request.filters.isEmpty {
            sql = Self.unfilteredTimeseries(request, interval: interval, visitors: visitors)
        } else {
            let archived = try await archivedDays(request)
            let bucket = "extract(epoch FROM date_trunc('\(interval.rawValue)', TIME_COLUMN AT TIME ZONE 'UTC'))::bigint"
            sql = Self.filtered(request, archived: archived, group: bucket, visitors: visitors, binds: &binds)
        }
        var points: [Int64: Counts] = [:]
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        for try await (start, events, pageviews, distinct) in rows.decode((Int64, Int64, Int64, Int64).self) {
            points[start] = Counts(events: events, pageviews: pageviews, visitors: distinct)
        }
        return points
    }

    /// A breakdown's rows: the values of a dimension with their counts, sorted by a metric, highest
    /// first (then by value), at most `limit`.
    public func breakdown(
        _ request: HistoryRequest, dimension: HistoryRequest.Dimension, sortedBy metric: HistoryRequest.Metric, limit: Int
    ) async throws -> [(value: String, counts: Counts)] {
        var binds = PostgresBindings()
        var sql: String
        if request.filters.isEmpty {
            binds.append(dimension.column)
            sql = Self.unfilteredBreakdown(request)
        } else {
            let archived = try await archivedDays(request)
            sql = Self.filtered(request, archived: archived, group: dimension.column, visitors: true, binds: &binds)
        }
        sql = "SELECT * FROM (\(sql)) answer ORDER BY \(metric.rawValue) DESC, g LIMIT \(limit)"
        var result: [(String, Counts)] = []
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        for try await (value, events, pageviews, distinct) in rows.decode((String, Int64, Int64, Int64).self) {
            result.append((value, Counts(events: events, pageviews: pageviews, visitors: distinct)))
        }
        return result
    }

    /// The unfiltered breakdown of the dimension bound as `$1`: the closed weeks that lie wholly in
    /// the range from `analytics_rollup_weeks` (one sketch per week and value), every other day of
    /// it from `analytics_rollup_days`. A week's rows and its closing mark come and go together, so
    /// the answer is the same as from the days alone.
    static func unfilteredBreakdown(_ request: HistoryRequest) -> String {
        let from = request.from.isoString
        let to = request.to.isoString
        let days = """
            SELECT value, events, pageviews, visitors FROM analytics_rollup_days
            WHERE dimension = $1 AND day BETWEEN '\(from)' AND '\(to)'
            """
        let rows: String
        if let weeks = wholeWeeks(from: request.from, to: request.to) {
            let first = weeks.first.isoString
            let last = weeks.last.isoString
            rows = """
                SELECT value, events, pageviews, visitors FROM analytics_rollup_weeks
                WHERE dimension = $1 AND week BETWEEN '\(first)' AND '\(last)'
                UNION ALL
                \(days) AND (day < '\(first)' OR date_trunc('week', day::timestamp)::date NOT IN (
                    SELECT week FROM analytics_rollup_closed_weeks WHERE week BETWEEN '\(first)' AND '\(last)'))
                """
        } else {
            rows = days
        }
        return """
            SELECT value AS g, sum(events)::bigint AS events, sum(pageviews)::bigint AS pageviews, \(cardinality("visitors")) AS visitors
            FROM (\(rows)) rows
            GROUP BY value
            """
    }

    /// The Mondays of the first and the last week (Monday to Sunday) lying wholly within a range of
    /// days; nil when none does.
    static func wholeWeeks(from: CivilDate, to: CivilDate) -> (first: CivilDate, last: CivilDate)? {
        let first = from.isoWeekday == 1 ? from : CivilDate(daysSinceEpoch: from.monday.daysSinceEpoch + 7)
        let last = CivilDate(daysSinceEpoch: CivilDate(daysSinceEpoch: to.daysSinceEpoch + 1).monday.daysSinceEpoch - 7)
        return first <= last ? (first, last) : nil
    }

    /// A sketch column or expression as a count: 0 for no sketch.
    static func cardinality(_ sketch: String) -> String {
        "coalesce(round(hll_cardinality(hll_union_agg(\(sketch)))), 0)::bigint"
    }

    /// The unfiltered timeseries: hours from the hourly totals, longer intervals from the daily ones.
    static func unfilteredTimeseries(_ request: HistoryRequest, interval: HistoryRequest.Interval, visitors: Bool) -> String {
        let distinct = visitors ? cardinality("visitors") : "0::bigint"
        if interval == .hour {
            return """
                SELECT extract(epoch FROM hour)::bigint, sum(events)::bigint, sum(pageviews)::bigint, \(distinct)
                FROM analytics_rollup_hours
                WHERE hour >= '\(start(of: request.from))' AND hour < '\(start(of: nextDay(request.to)))'
                GROUP BY hour
                """
        }
        return """
            SELECT extract(epoch FROM date_trunc('\(interval.rawValue)', day::timestamp))::bigint AS bucket,
                   sum(events)::bigint, sum(pageviews)::bigint, \(distinct)
            FROM analytics_rollup_days
            WHERE dimension = '' AND value = '' AND day BETWEEN '\(request.from.isoString)' AND '\(request.to.isoString)'
            GROUP BY bucket
            """
    }

    /// A filtered question over the raw events of the days not archived and the archived hours of
    /// the others, grouped by `group` (an expression of the row in which `TIME_COLUMN` stands for
    /// the row's time). Filter values are bound; every other piece of the SQL comes from the
    /// request's enumerations and dates.
    static func filtered(
        _ request: HistoryRequest, archived: Set<CivilDate>, group: String, visitors: Bool, binds: inout PostgresBindings
    ) -> String {
        var conditions: [String] = []
        for filter in request.filters {
            binds.append(filter.value)
            conditions.append("\(filter.dimension.column) = $\(binds.count)")
        }
        let filters = conditions.joined(separator: " AND ")
        let spans = daySpans(from: request.from, to: request.to, archived: archived)
        var parts: [String] = []
        if !spans.raw.isEmpty {
            let sketch = visitors ? "hll_add_agg(analytics_visitor_hash(visitor_id))" : "NULL::hll"
            parts.append(
                """
                SELECT \(group.replacing("TIME_COLUMN", with: "created_at")) AS g, count(*) AS events,
                       count(*) FILTER (WHERE event_type = 'pageview') AS pageviews, \(sketch) AS visitors
                FROM analytics_events
                WHERE (\(ranges(spans.raw, column: "created_at"))) AND \(filters)
                GROUP BY 1
                """)
        }
        if !spans.archived.isEmpty {
            let sketch = visitors ? "hll_union_agg(visitors)" : "NULL::hll"
            parts.append(
                """
                SELECT \(group.replacing("TIME_COLUMN", with: "hour")) AS g, sum(events) AS events, sum(pageviews) AS pageviews,
                       \(sketch) AS visitors
                FROM analytics_rollup_archived_hours
                WHERE (\(ranges(spans.archived, column: "hour"))) AND \(filters)
                GROUP BY 1
                """)
        }
        let distinct = visitors ? cardinality("visitors") : "0::bigint"
        return """
            SELECT g, sum(events)::bigint AS events, sum(pageviews)::bigint AS pageviews, \(distinct) AS visitors
            FROM (\(parts.joined(separator: " UNION ALL "))) parts
            GROUP BY g
            """
    }

    /// The days of the range the retention pass has archived.
    func archivedDays(_ request: HistoryRequest) async throws -> Set<CivilDate> {
        let rows = try await client.query(
            """
            SELECT day::text FROM analytics_archive_files
            WHERE day BETWEEN \(request.from.isoString)::date AND \(request.to.isoString)::date
            """, logger: logger)
        var days = Set<CivilDate>()
        for try await day in rows.decode(String.self) {
            if let date = CivilDate(iso: day) { days.insert(date) }
        }
        return days
    }

    /// The range's days cut into runs of consecutive days held raw and runs of archived days, each
    /// run as its first and last day.
    static func daySpans(from: CivilDate, to: CivilDate, archived: Set<CivilDate>) -> (
        raw: [(CivilDate, CivilDate)], archived: [(CivilDate, CivilDate)]
    ) {
        var raw: [(CivilDate, CivilDate)] = []
        var old: [(CivilDate, CivilDate)] = []
        var day = from
        while day <= to {
            let isArchived = archived.contains(day)
            var last = day
            while last < to && archived.contains(nextDay(last)) == isArchived { last = nextDay(last) }
            if isArchived { old.append((day, last)) } else { raw.append((day, last)) }
            day = nextDay(last)
        }
        return (raw, old)
    }

    /// SQL matching times within the spans (constants, so that PostgreSQL prunes partitions).
    static func ranges(_ spans: [(CivilDate, CivilDate)], column: String) -> String {
        spans.map { "(\(column) >= '\(start(of: $0.0))' AND \(column) < '\(start(of: nextDay($0.1)))')" }.joined(separator: " OR ")
    }

    static func start(of day: CivilDate) -> String { "\(day.isoString) 00:00:00+00" }

    static func nextDay(_ day: CivilDate) -> CivilDate { CivilDate(daysSinceEpoch: day.daysSinceEpoch + 1) }
}
