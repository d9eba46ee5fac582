/// Why the archiver cannot do what it was asked; each message says what to do.
public struct ArchiverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for code that branches on it; the ``message`` is for people.
    public enum Code: Sendable, Equatable {
        /// The migrations directory is missing or inconsistent.
        case migrations
        /// An archive file did not receive every row of its day (the day is left as it was).
        case incompleteExport
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, and what the operator can do about it.
    public let message: String

    /// The ``message``.
    public var description: String { message }

    /// No candidate directory holds the migrations.
    /// - Parameter directories: every directory looked in, named in the message.
    public static func migrationsNotFound(lookedIn directories: [String]) -> ArchiverError {
        ArchiverError(
            code: .migrations,
            message: "the SQL migrations were not found (looked in \(directories.joined(separator: ", "))): "
                + "set ANALYTICS_MIGRATIONS_DIR to the project's migrations/ directory")
    }

    /// The migrations directory's files do not pair up: a version without its `.down.sql`, or two
    /// up migrations with one number.
    /// - Parameters:
    ///   - problem: what is wrong, in words.
    ///   - directory: the migrations directory.
    public static func inconsistentMigrations(_ problem: String, directory: String) -> ArchiverError {
        ArchiverError(
            code: .migrations,
            message: "\(directory): \(problem). Each NNNNNN_name.up.sql needs its NNNNNN_name.down.sql and a number of its own")
    }

    /// A day's archive file got fewer (or more) rows than its partition holds, so the day is not
    /// dropped.
    /// - Parameters:
    ///   - partition: the day's partition.
    ///   - exported: the rows written to the archive.
    ///   - held: the rows the partition holds.
    public static func incompleteExport(partition: String, exported: Int, held: Int) -> ArchiverError {
        ArchiverError(
            code: .incompleteExport,
            message: "\(partition): exported \(exported) rows but the partition holds \(held); the day was kept as it was "
                + "and the next pass tries again. If it recurs, check the archive directory's disk")
    }
}
