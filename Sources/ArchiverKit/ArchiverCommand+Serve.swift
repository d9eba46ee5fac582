import AnalyticsCore
import ArgumentParser
import Logging
import ServiceSupport

extension ArchiverCommand {
    /// The long-running archiver.
    public struct Serve: ServiceCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Store the stream's events in PostgreSQL until stopped (the default command).",
            discussion: """
                Applies the pending migrations first (waiting for PostgreSQL if it is not there yet), then \
                consumes the event stream as a member of the `archiver` group. The retention pass runs every \
                day at 02:00 UTC, on one archiver at a time.
                """)

        public init() {}

        public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
            let app = try ArchiverApplication(configuration: configuration, logger: logger)
            return await ServiceBootstrap.serve(app.services(), startMetadata: app.startMetadata, logger: logger)
        }
    }
}
