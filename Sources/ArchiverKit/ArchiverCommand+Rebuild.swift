import AnalyticsCore
import ArgumentParser
import Logging
import PostgresNIO
import ServiceSupport

extension ArchiverCommand {
    /// `rebuild [--since YYYY-MM-DD]`: recomputes the Redis aggregates from PostgreSQL with a
    /// ``Rebuilder``, for a Redis that lost its data, and the history's rollups of the days whose raw
    /// events are kept.
    public struct Rebuild: ServiceCommand {
        /// The subcommand's help text.
        public static let configuration = CommandConfiguration(
            abstract: "Recompute the Redis aggregates and the history's rollups from PostgreSQL, and exit.",
            discussion: """
                For a Redis that lost its data: the period counters, the unique-visitor HyperLogLogs and \
                the top themes are computed again from the stored events (and from the daily rollups for \
                days whose raw events are archived). Run it while no events are being accepted: events \
                counted during the rebuild could be counted twice. The history's hourly and daily rollups \
                of the days whose raw events are kept are recomputed too (exactly, even while events \
                are being stored); those of archived days stay as they are.
                """)

        @Option(
            help: ArgumentHelp("Rebuild from this UTC day on (default: everything kept).", valueName: "YYYY-MM-DD"),
            transform: { text in
                guard let day = CivilDate(iso: text) else { throw ValidationError("--since: expected YYYY-MM-DD, got \(text)") }
                return day
            })
        /// The first UTC day whose counters are rebuilt (with the whole weeks and months it belongs
        /// to); nil rebuilds every day PostgreSQL keeps.
        public var since: CivilDate?

        /// Creates the command, as ArgumentParser requires.
        public init() {}

        /// Runs the rebuild and prints what it wrote.
        /// - Returns: `.success`.
        /// - Throws: PostgreSQL's or Redis's error; the aggregates written before it stay.
        public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
            let app = try ArchiverApplication(configuration: configuration, logger: logger)
            let since = self.since
            let (report, rolledUp) = try await app.withClients {
                let report = try await Rebuilder(
                    client: app.postgres, redis: app.redisWriter, keyspace: configuration.keyspace, partitions: app.partitions,
                    logger: logger
                ).run(since: since)
                return (report, try await Self.rebuildRollups(since: since, app: app, logger: logger))
            }
            print(
                "rebuild: \(report.days) days, \(report.weeks) weeks, \(report.months) months, \(report.events) events, \(report.themes) themes"
            )
            print("rebuild: history rollups recomputed from \(rolledUp) raw events")
            return .success
        }

        /// Recomputes the history's rollups of the raw days from `since` (every raw day when nil)
        /// with the migration's `analytics_rebuild_rollups`.
        /// - Returns: the number of raw events counted.
        static func rebuildRollups(since: CivilDate?, app: ArchiverApplication, logger: Logger) async throws -> Int {
            let first = since?.isoString ?? "1970-01-01"
            let rows = try await app.postgres.query(
                """
                SELECT analytics_rebuild_rollups(
                    greatest(\(first)::date, coalesce((SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM analytics_events), current_date)),
                    coalesce((SELECT (max(created_at) AT TIME ZONE 'UTC')::date FROM analytics_events), current_date))
                """, logger: logger)
            var counted = 0
            for try await n in rows.decode(Int.self) { counted = n }
            return counted
        }
    }
}
