import AnalyticsCore
import Logging
import PostgresNIO
import Prometheus
import Synchronization

/// When the daily pass is due: at 02:00 UTC, once per UTC day — and at start when today's pass has
/// not run yet (the archiver was down at 02:00). There is no other timer for the pass:
/// ``RetentionScheduler`` keeps one schedule and consults it from the consumer's housekeeping.
public struct RetentionSchedule: Sendable, Equatable {
    /// The UTC hour from which the day's pass is due.
    public static let hour = 2

    /// The last UTC day whose pass is known to be done, by this archiver or another; nil before the
    /// first.
    public var lastCompleted: CivilDate?

    /// A schedule whose last completed day is `lastCompleted`.
    public init(lastCompleted: CivilDate? = nil) {
        self.lastCompleted = lastCompleted
    }

    /// Whether the pass is due: it is 02:00 UTC or later and today's pass is not known to be done.
    /// - Parameter nowMilliseconds: the current time, in Unix milliseconds.
    public func isDue(nowMilliseconds: Int64) -> Bool {
        let bucket = TimeBucket(epochMilliseconds: nowMilliseconds)
        let dayStart = Int64(bucket.date.daysSinceEpoch) * 86_400_000
        guard nowMilliseconds >= dayStart + Int64(Self.hour) * 3_600_000 else { return false }
        return lastCompleted != bucket.date
    }
}
