import AnalyticsCore
import ArgumentParser
import Logging
import ServiceSupport

extension ArchiverCommand {
    /// The long-running archiver, and the default command: the services of
    /// ``ArchiverApplication/services()`` until SIGTERM or SIGINT.
    public struct Serve: ServiceCommand {
        /// The subcommand's help text.
        public static let configuration = CommandConfiguration(
            abstract: "Store the stream's events in PostgreSQL until stopped (the default command).",
            discussion: """
                Applies the pending migrations first (waiting for PostgreSQL if it is not there yet), then \
                consumes the event stream as a member of the `archiver` group. The retention pass runs every \
                day at 02:00 UTC, on one archiver at a time.
                """)

        /// Creates the command, as ArgumentParser requires.
        public init() {}

        /// Serves until stopped.
        /// - Returns: the status the service group ends with.
        /// - Throws: when the application cannot be built (the migrations are not found).
        public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
            let app = try ArchiverApplication(configuration: configuration, logger: logger)
            return await ServiceBootstrap.serve(app.services(), startMetadata: app.startMetadata, logger: logger)
        }
    }
}
