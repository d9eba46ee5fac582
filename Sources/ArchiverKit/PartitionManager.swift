import AnalyticsCore
import Logging
import PostgresNIO
import Foundation
import Synchronization

/// The daily partitions of `analytics_events`: created ahead of time for the coming days, and on
/// demand (outside the batch transaction) for any other day an event falls on — imported history or
/// a late event. Remembers which days exist, so the hot path asks PostgreSQL only for new days.
public final class PartitionManager: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let known = Mutex<Set<CivilDate>>([])

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public static func name(of day: CivilDate) -> String {
        "analytics_events_\(day.isoString.replacingOccurrences(of: "-", with: ""))"
    }

    public func ensure(days: Set<CivilDate>) async throws {
        let missing = known.withLock { known in days.subtracting(known) }
        for day in missing.sorted() {
            try await client.query("SELECT analytics_ensure_partition(\(day.isoString)::date)", logger: logger)
            known.withLock { _ = $0.insert(day) }
        }
    }

    /// Today and the next `days` days (UTC).
    public func createAhead(days: Int = 7, nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws {
        let today = TimeBucket(epochMilliseconds: nowMilliseconds).date
        try await ensure(days: Set((0...days).map { CivilDate(daysSinceEpoch: today.daysSinceEpoch + $0) }))
    }

    /// A dropped partition must be created again if an event of that day comes back (an import).
    public func forget(_ day: CivilDate) {
        known.withLock { _ = $0.remove(day) }
    }

    /// The days that have a partition, from the catalog.
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
