import Foundation
import Logging
import PostgresNIO

/// One migration of `migrations/`: `NNNNNN_name.up.sql` and its `.down.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let up: String
    public let down: String
}
