/// Why the archiver cannot do what it was asked; each message says what to do.
public struct ArchiverError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The migrations directory is missing or inconsistent.
        case migrations
        /// An archive file did not receive every row of its day (the day is left as it was).
        case incompleteExport
    }

    public let code: Code
    /// What happened, and what the operator can do about it.
    public let message: String

    public var description: String { message }

    public static func migrationsNotFound(lookedIn directories: [String]) -> ArchiverError {
        ArchiverError(
            code: .migrations,
            message: "the SQL migrations were not found (looked in \(directories.joined(separator: ", "))): "
                + "set ANALYTICS_MIGRATIONS_DIR to the project's migrations/ directory")
    }

    public static func inconsistentMigrations(_ problem: String, directory: String) -> ArchiverError {
        ArchiverError(
            code: .migrations,
            message: "\(directory): \(problem). Each NNNNNN_name.up.sql needs its NNNNNN_name.down.sql and a number of its own")
    }

    public static func incompleteExport(partition: String, exported: Int, held: Int) -> ArchiverError {
        ArchiverError(
            code: .incompleteExport,
            message: "\(partition): exported \(exported) rows but the partition holds \(held); the day was kept as it was "
                + "and the next pass tries again. If it recurs, check the archive directory's disk")
    }
}
