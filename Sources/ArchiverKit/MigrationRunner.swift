import Foundation
import Logging
import PostgresNIO

/// Applies the SQL migrations, recorded in `schema_migrations`. Safe when several archivers start
/// at once: a session advisory lock serialises them, and each migration is one transaction.
///
/// The archiver applies the pending migrations at every start; `analytics-archiver migrate`
/// (``ArchiverCommand/Migrate``) applies or reverts them on demand.
public struct MigrationRunner: Sendable {
    /// `pg_advisory_lock` key of the migrations ("analytic" in ASCII).
    static let lockKey: Int64 = 0x616E_616C_7974_6963

    /// The migrations it knows, ordered by version.
    public let migrations: [Migration]
    let client: PostgresClient
    let logger: Logger

    /// - Parameters:
    ///   - migrations: ordered by version, as ``load(directory:)`` returns them.
    ///   - client: the PostgreSQL pool; each run holds one connection, which takes the lock.
    ///   - logger: for each migration applied or reverted.
    public init(migrations: [Migration], client: PostgresClient, logger: Logger) {
        self.migrations = migrations
        self.client = client
        self.logger = logger
    }

    /// Reads `NNNNNN_name.up.sql` / `.down.sql` pairs from a directory, ordered by version. Files
    /// whose name does not start with a number and `_` are ignored.
    /// - Throws: ``ArchiverError`` when a version has two up files or no down file; the file
    ///   system's error when the directory or a file cannot be read.
    public static func load(directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var ups: [Int: (String, URL)] = [:]
        var downs: [Int: URL] = [:]
        for file in files {
            guard let underscore = file.firstIndex(of: "_"), let version = Int(file[..<underscore]) else { continue }
            let url = directory.appendingPathComponent(file)
            if file.hasSuffix(".up.sql") {
                let name = String(file[file.index(after: underscore)...].dropLast(".up.sql".count))
                guard ups[version] == nil else {
                    throw ArchiverError.inconsistentMigrations("two up migrations numbered \(version)", directory: directory.path)
                }
                ups[version] = (name, url)
            } else if file.hasSuffix(".down.sql") {
                downs[version] = url
            }
        }
        return try ups.keys.sorted().map { version in
            let (name, upURL) = ups[version]!
            guard let downURL = downs[version] else {
                throw ArchiverError.inconsistentMigrations("migration \(version) has no .down.sql", directory: directory.path)
            }
            return Migration(
                version: version, name: name, up: try String(contentsOf: upURL, encoding: .utf8),
                down: try String(contentsOf: downURL, encoding: .utf8))
        }
    }

    /// Finds `migrations/`: `ANALYTICS_MIGRATIONS_DIR`, beside the executable, in
    /// `../share/analytics/migrations` of an installation, or in a checkout above the build directory
    /// (or the current directory). A candidate counts when it holds `000001_create_visitors.up.sql`.
    /// - Parameter configured: `ANALYTICS_MIGRATIONS_DIR`; when set it is used as it is, unchecked.
    /// - Throws: ``ArchiverError`` naming every directory tried when none holds the migrations.
    public static func locateDirectory(configured: String?) throws -> URL {
        if let configured { return URL(fileURLWithPath: configured) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [
            executable.appendingPathComponent("migrations"),
            executable.appendingPathComponent("../share/analytics/migrations").standardized,
        ]
        var dir = executable
        for _ in 0..<5 {
            dir = dir.deletingLastPathComponent()
            candidates.append(dir.appendingPathComponent("migrations"))
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("migrations"))
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("000001_create_visitors.up.sql").path) {
            return candidate
        }
        throw ArchiverError.migrationsNotFound(lookedIn: candidates.map(\.path))
    }

    /// Applies every pending migration, in version order, each in one transaction with its
    /// `schema_migrations` row.
    /// - Returns: the versions applied; empty when the schema was up to date.
    /// - Throws: PostgreSQL's error. The migrations applied before the failing one stay applied.
    @discardableResult
    public func migrateUp() async throws -> [Int] {
        try await withMigrationLock { connection in
            let applied = try await appliedVersions(connection)
            var done: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                try await connection.withTransaction(logger: logger) { tx in
                    for statement in SQLScript.statements(migration.up) {
                        try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await tx.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                }
                logger.info("migration applied", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                done.append(migration.version)
            }
            return done
        }
    }

    /// Reverts the applied migrations down to (not including) `target`, newest first, each in one
    /// transaction.
    /// - Parameter target: the version to keep; 0 reverts every migration.
    /// - Returns: the versions reverted, newest first.
    /// - Throws: PostgreSQL's error. The migrations reverted before the failing one stay reverted.
    @discardableResult
    public func migrateDown(to target: Int = 0) async throws -> [Int] {
        try await withMigrationLock { connection in
            let applied = try await appliedVersions(connection)
            var done: [Int] = []
            for migration in migrations.reversed() where migration.version > target && applied.contains(migration.version) {
                try await connection.withTransaction(logger: logger) { tx in
                    for statement in SQLScript.statements(migration.down) {
                        try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await tx.query("DELETE FROM schema_migrations WHERE version = \(migration.version)", logger: logger)
                }
                logger.info("migration reverted", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                done.append(migration.version)
            }
            return done
        }
    }

    /// The versions recorded in `schema_migrations` (created, empty, when missing).
    public func appliedVersions() async throws -> Set<Int> {
        try await client.withConnection { try await appliedVersions($0) }
    }

    private func appliedVersions(_ connection: PostgresConnection) async throws -> Set<Int> {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var versions = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            versions.insert(version)
        }
        return versions
    }

    private func withMigrationLock<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }
}
