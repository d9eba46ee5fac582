import AnalyticsCore
import Foundation

/// Why a line of an archive file is not an event the service can store.
public struct ArchiveLineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sentence for an operator, naming the field at fault (e.g. `created_at: not an RFC 3339 timestamp`).
    public let reason: String

    /// Creates an error with the sentence an operator will read.
    public init(reason: String) {
        self.reason = reason
    }

    /// The ``reason``.
    public var description: String { reason }
}
