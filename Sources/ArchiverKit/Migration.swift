import Foundation
import Logging
import PostgresNIO

/// One migration of `migrations/`: `NNNNNN_name.up.sql` and its `.down.sql`, as
/// ``MigrationRunner/load(directory:)`` reads them.
public struct Migration: Sendable, Equatable {
    /// The `NNNNNN` number: migrations are applied in its order and recorded under it in
    /// `schema_migrations`.
    public let version: Int
    /// The `name` part of the file names.
    public let name: String
    /// The SQL of the `.up.sql` file, applied in one transaction.
    public let up: String
    /// The SQL of the `.down.sql` file, which reverts ``up``.
    public let down: String
}
