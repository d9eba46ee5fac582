import AnalyticsCore
import ArgumentParser
import Logging
import ServiceSupport

extension ArchiverCommand {
    /// `retention`: the daily ``RetentionPass``, now, through
    /// ``RetentionScheduler/runNow(nowMilliseconds:)`` (after a pass running elsewhere, never beside it).
    public struct Retention: ServiceCommand {
        /// The subcommand's help text.
        public static let configuration = CommandConfiguration(
            abstract: "Run the retention and archive pass once now, and exit.",
            discussion: """
                Each day of raw events older than ANALYTICS_RAW_RETENTION_DAYS is exported to a gzip NDJSON \
                file in ANALYTICS_ARCHIVE_DIR, rolled up into daily aggregates, then dropped; rollups and \
                archive files older than ANALYTICS_ARCHIVE_RETENTION_DAYS are removed. The serving archivers \
                run the same pass every day at 02:00 UTC; it never runs twice at once.
                """)

        /// Creates the command, as ArgumentParser requires.
        public init() {}

        /// Runs the pass and prints its report.
        /// - Returns: `.failure` when some expired archive file could not be deleted (the log names
        ///   it), `.success` otherwise.
        /// - Throws: the pass's failure; the days retired before it stay retired.
        public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
            let app = try ArchiverApplication(configuration: configuration, logger: logger)
            let report = try await app.withClients { try await app.retentionScheduler.runNow() }
            print(
                "retention: archived \(report.archivedDays.count) days (\(report.archivedEvents) events), "
                    + "dropped \(report.droppedWithoutArchive.count) days past the archive retention, "
                    + "removed \(report.removedDays.count) days of rollups and archives, forgot \(report.forgottenVisitors) visitors"
                    + (report.undeletedFiles.isEmpty ? "" : ", could not delete \(report.undeletedFiles.count) files (see the log)"))
            return report.undeletedFiles.isEmpty ? .success : .failure
        }
    }
}
