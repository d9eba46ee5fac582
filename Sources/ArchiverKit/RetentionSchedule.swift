import AnalyticsCore
import Logging
import PostgresNIO
import Prometheus
import Synchronization

/// When the daily pass is due: at 02:00 UTC, once per UTC day — and at start when today's pass has
/// not run yet (the archiver was down at 02:00). One timer only (the seed ran two: defect 8).
public struct RetentionSchedule: Sendable, Equatable {
    public static let hour = 2

    public var lastCompleted: CivilDate?

    public init(lastCompleted: CivilDate? = nil) {
        self.lastCompleted = lastCompleted
    }

    public func isDue(nowMilliseconds: Int64) -> Bool {
        let bucket = TimeBucket(epochMilliseconds: nowMilliseconds)
        let dayStart = Int64(bucket.date.daysSinceEpoch) * 86_400_000
        guard nowMilliseconds >= dayStart + Int64(Self.hour) * 3_600_000 else { return false }
        return lastCompleted != bucket.date
    }
}
