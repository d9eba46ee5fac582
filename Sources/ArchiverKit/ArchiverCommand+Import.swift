import AnalyticsCore
import ArgumentParser
import Logging
import ServiceSupport

extension ArchiverCommand {
    /// `import FILE…`: loads archive files into PostgreSQL through ``Importer``, after applying the
    /// pending migrations.
    public struct Import: ServiceCommand {
        /// The subcommand's help text.
        public static let configuration = CommandConfiguration(
            abstract: "Load archive files (gzip or plain NDJSON) into PostgreSQL, and exit.",
            discussion: """
                Each line is one event with id, visitor_id, event_type, event_data, page_url, referrer and \
                created_at (RFC 3339, UTC): the files the retention pass writes, or history from another \
                tool. Events already present (same id) are skipped, so a file can be imported twice. Lines \
                that are not valid events are counted and reported, not loaded; the command then exits 1.
                """)

        /// The files to load, in this order.
        @Argument(help: "The files to load.")
        public var files: [String] = []

        /// Creates the command, as ArgumentParser requires.
        public init() {}

        /// Refuses an import without files.
        public func validate() throws {
            if files.isEmpty { throw ValidationError("import needs at least one FILE") }
        }

        /// Applies the pending migrations, then imports the files.
        /// - Returns: `.failure` when some line was refused, `.success` otherwise.
        /// - Throws: when a file cannot be opened, or PostgreSQL fails; what was stored before stays.
        public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
            let app = try ArchiverApplication(configuration: configuration, logger: logger)
            let files = self.files
            let complete = try await app.withClients {
                try await app.migrator.migrateUp()
                return try await Importer(store: app.store, logger: logger).run(files: files)
            }
            return complete ? .success : .failure
        }
    }
}
