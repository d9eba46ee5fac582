import AnalyticsCore
import ArgumentParser
import Logging
import ServiceSupport

extension ArchiverCommand {
    /// `rebuild [--since YYYY-MM-DD]`: recomputes the Redis aggregates from PostgreSQL with a
    /// ``Rebuilder``, for a Redis that lost its data.
    public struct Rebuild: ServiceCommand {
        /// The subcommand's help text.
        public static let configuration = CommandConfiguration(
            abstract: "Recompute the Redis aggregates from PostgreSQL, and exit.",
            discussion: """
                For a Redis that lost its data: the period counters, the unique-visitor HyperLogLogs and \
                the top themes are computed again from the stored events (and from the daily rollups for \
                days whose raw events are archived). Run it while no events are being accepted: events \
                counted during the rebuild could be counted twice.
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
            let report = try await app.withClients {
                try await Rebuilder(
                    client: app.postgres, redis: app.redisWriter, keyspace: configuration.keyspace, partitions: app.partitions,
                    logger: logger
                ).run(since: since)
            }
            print(
                "rebuild: \(report.days) days, \(report.weeks) weeks, \(report.months) months, \(report.events) events, \(report.themes) themes"
            )
            return .success
        }
    }
}
