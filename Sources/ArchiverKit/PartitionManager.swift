import AnalyticsCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The daily partitions of `analytics_events`: created ahead of time for the coming days, and on
/// demand (outside the batch transaction) for any other day an event falls on — imported history or
/// a late event. Remembers which days exist, so the hot path asks PostgreSQL only for new days.
///
/// One instance is shared by the whole process (``ArchiverApplication/partitions``): ``EventStore``
/// creates days, ``RetentionPass`` drops them and makes it ``forget(_:)`` them, and ``Rebuilder``
/// lists them.
public final class PartitionManager: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let known = Mutex<Set<CivilDate>>([])

    /// Creates a manager that knows of no day yet.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The partition table of `day`: `analytics_events_YYYYMMDD`.
    public static func name(of day: CivilDate) -> String {
        "analytics_events_\(day.isoString.replacingOccurrences(of: "-", with: ""))"
    }

    /// Creates the partitions of `days` not yet known to exist, oldest first, with
    /// `analytics_ensure_partition`, which is safe against concurrent callers. Each is its own
    /// statement on the pool, outside any batch's transaction.
    /// - Throws: PostgreSQL's error; the days created before it are remembered.
    public func ensure(days: Set<CivilDate>) async throws {
        let missing = known.withLock { known in days.subtracting(known) }
        for day in missing.sorted() {
            try await client.query("SELECT analytics_ensure_partition(\(day.isoString)::date)", logger: logger)
            known.withLock { _ = $0.insert(day) }
        }
    }

    /// Creates the partitions of today and the next `days` days (UTC), so that the hot path rarely
    /// has to.
    /// - Parameters:
    ///   - days: how many days after today.
    ///   - nowMilliseconds: the current time, in Unix milliseconds.
    /// - Throws: PostgreSQL's error.
    public func createAhead(days: Int = 7, nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws {
        let today = TimeBucket(epochMilliseconds: nowMilliseconds).date
        try await ensure(days: Set((0...days).map { CivilDate(daysSinceEpoch: today.daysSinceEpoch + $0) }))
    }

    /// Forgets that `day` has a partition, once it is dropped: it must be created again if an event
    /// of that day comes back (an import).
    public func forget(_ day: CivilDate) {
        known.withLock { _ = $0.remove(day) }
    }

    /// The days that have a partition, oldest first, read from the catalog (not from memory).
    public func existingDays() async throws -> [CivilDate] {
        let rows = try await client.query(
            """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'analytics_events'::regclass
            """, logger: logger)
        var days: [CivilDate] = []
        for try await name in rows.decode(String.self) {
            let digits = name.dropFirst("analytics_events_".count)
            guard digits.count == 8 else { continue }
            let iso = "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
            if let day = CivilDate(iso: iso) { days.append(day) }
        }
        return days.sorted()
    }
}
