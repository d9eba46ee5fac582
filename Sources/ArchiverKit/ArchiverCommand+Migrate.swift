import AnalyticsCore
import ArgumentParser
import Logging
import ServiceSupport

extension ArchiverCommand {
    /// `migrate [up | down [VERSION]]`: applies or reverts the SQL migrations with a
    /// ``MigrationRunner``. The supervisor and the `analytics-migrate` unit run `migrate` before any
    /// worker starts.
    public struct Migrate: ServiceCommand {
        /// The subcommand's help text.
        public static let configuration = CommandConfiguration(
            abstract: "Apply the pending migrations and exit (or revert them with down).",
            discussion: """
                The migrations are the SQL files of ANALYTICS_MIGRATIONS_DIR (by default the migrations/ \
                directory beside the executable or in the checkout). Several archivers may run this at once: \
                one applies, the others wait and find nothing left to do.
                """)

        /// Which way to migrate: `up` applies every pending migration, `down` reverts the applied
        /// migrations above ``Migrate/version``.
        public enum Direction: String, ExpressibleByArgument, CaseIterable, Sendable {
            case up, down
        }

        /// `up` (the default) or `down`.
        @Argument(help: "up applies every pending migration; down reverts the applied ones above VERSION.")
        public var direction: Direction = .up

        /// With `down`, the version to keep; nil (like 0) reverts every migration.
        @Argument(help: "With down: the version to keep (0, the default, reverts them all).")
        public var version: Int?

        /// Creates the command, as ArgumentParser requires.
        public init() {}

        /// Refuses a VERSION with `up`, and a negative one.
        public func validate() throws {
            if direction == .up, version != nil { throw ValidationError("migrate up takes no VERSION") }
            if let version, version < 0 { throw ValidationError("VERSION must be 0 or more") }
        }

        /// Applies or reverts the migrations and prints the versions it changed.
        /// - Returns: `.success`.
        /// - Throws: when the migrations cannot be loaded, PostgreSQL cannot be reached, or a migration
        ///   fails (the migrations before it stay applied or reverted).
        public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
            let app = try ArchiverApplication(configuration: configuration, logger: logger)
            switch direction {
            case .up:
                let applied = try await app.withClients { try await app.migrator.migrateUp() }
                print(applied.isEmpty ? "migrate: up to date" : "migrate: applied \(applied.map(String.init).joined(separator: ", "))")
            case .down:
                let target = version ?? 0
                let reverted = try await app.withClients { try await app.migrator.migrateDown(to: target) }
                print("migrate: reverted \(reverted.map(String.init).joined(separator: ", "))")
            }
            return .success
        }
    }
}
