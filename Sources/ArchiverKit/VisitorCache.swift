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
public final class VisitorCache: Sendable {
    public struct Seen: Sendable, Equatable {
        public var first: Int64
        public var last: Int64

        public init(first: Int64, last: Int64) {
            self.first = first
            self.last = last
        }
    }

    /// A visitor's last_seen is rewritten at most this often.
    public static let rewriteAfterMilliseconds: Int64 = 3_600_000

    public let capacity: Int
    private let known = Mutex<[UUID: Seen]>([:])

    public init(capacity: Int = 250_000) {
        self.capacity = capacity
    }

    public var count: Int { known.withLock { $0.count } }

    /// The visitors of a batch (first and last time seen in it) whose row must be written.
    public func needingWrite(_ batch: [UUID: Seen]) -> [UUID: Seen] {
        known.withLock { known in
            batch.filter { id, seen in
                guard let row = known[id] else { return true }
                return seen.first < row.first || seen.last > row.last + Self.rewriteAfterMilliseconds
            }
        }
    }

    /// Rows as PostgreSQL holds them after a committed batch.
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
