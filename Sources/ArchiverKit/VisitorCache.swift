import Foundation
import Synchronization

/// What this process knows the `visitors` table holds, so that a batch stages and upserts only the
/// visitors whose row must change: new ones, ones seen earlier than known (imported history), and
/// ones seen more than an hour after their known last visit. Without it every batch staged and
/// looked up each of its visitors (about one per event on a busy site).
///
/// An entry is never wider than the row: `first` ≥ the row's first_seen and `last` ≤ its last_seen
/// (it records what PostgreSQL returned or was told after a commit), so skipping on it never skips a
/// write the row needed. When it outgrows `capacity` it starts over (costing one lookup per visitor).
///
/// ``EventStore`` consults and feeds it; ``RetentionPass`` empties it when it deletes visitor rows.
public final class VisitorCache: Sendable {
    /// A visitor's first and last time seen, in Unix milliseconds.
    public struct Seen: Sendable, Equatable {
        /// The earliest time seen (`first_seen`).
        public var first: Int64
        /// The latest time seen (`last_seen`).
        public var last: Int64

        /// A visitor seen from `first` to `last`.
        public init(first: Int64, last: Int64) {
            self.first = first
            self.last = last
        }
    }

    /// A visitor's `last_seen` is rewritten only when a newer visit is this much later than the
    /// recorded one (an hour), so that an active visitor costs one write an hour, not one a batch.
    /// `last_seen` may therefore lag by up to this much.
    public static let rewriteAfterMilliseconds: Int64 = 3_600_000

    /// How many visitors it remembers at most; past that it forgets them all and starts over.
    public let capacity: Int
    private let known = Mutex<[UUID: Seen]>([:])

    /// An empty cache of at most `capacity` visitors.
    public init(capacity: Int = 250_000) {
        self.capacity = capacity
    }

    /// How many visitors it remembers now.
    public var count: Int { known.withLock { $0.count } }

    /// The visitors of a batch (first and last time seen in it) whose row must be written: unknown
    /// ones, ones seen earlier than their known `first_seen`, and ones seen more than
    /// ``rewriteAfterMilliseconds`` after their known `last_seen`.
    /// - Parameter batch: the batch's visitors, as ``visitors(of:)`` gathers them.
    /// - Returns: the subset of `batch` to stage and upsert.
    public func needingWrite(_ batch: [UUID: Seen]) -> [UUID: Seen] {
        known.withLock { known in
            batch.filter { id, seen in
                guard let row = known[id] else { return true }
                return seen.first < row.first || seen.last > row.last + Self.rewriteAfterMilliseconds
            }
        }
    }

    /// Remembers rows as PostgreSQL holds them after a committed batch (as the upsert returned
    /// them). Call it only after the commit: a row remembered from a rolled-back transaction would
    /// let a later batch skip a write the table needs.
    public func record(_ rows: [(UUID, Seen)]) {
        known.withLock { known in
            if known.count + rows.count > capacity { known.removeAll(keepingCapacity: true) }
            for (id, seen) in rows.prefix(capacity) { known[id] = seen }
        }
    }

    /// Forgets everything (visitor rows were deleted).
    public func removeAll() {
        known.withLock { $0.removeAll() }
    }

    /// The batch's visitors, each with the first and last time it was seen in it.
    /// - Parameter events: each event's visitor and time (Unix milliseconds).
    public static func visitors(of events: some Sequence<(visitorID: UUID, createdAt: Int64)>) -> [UUID: Seen] {
        var seen: [UUID: Seen] = [:]
        for event in events {
            if let known = seen[event.visitorID] {
                seen[event.visitorID] = Seen(first: min(known.first, event.createdAt), last: max(known.last, event.createdAt))
            } else {
                seen[event.visitorID] = Seen(first: event.createdAt, last: event.createdAt)
            }
        }
        return seen
    }
}
