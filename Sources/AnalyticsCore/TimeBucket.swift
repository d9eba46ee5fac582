/// The UTC day, ISO week and month an instant falls in, with the names used in Redis keys
/// (`2026-11-27`, `2026-W48`, `2026-11`) and the instants at which each period ends.
public struct TimeBucket: Sendable, Hashable {
    public static let millisecondsPerDay: Int64 = 86_400_000

    /// The UTC day; the week and month derive from it.
    public let date: CivilDate

    public init(date: CivilDate) {
        self.date = date
    }

    /// The bucket of an instant given in milliseconds since the Unix epoch (UTC, never local time).
    public init(epochMilliseconds ms: Int64) {
        let days = ms >= 0 ? ms / Self.millisecondsPerDay : (ms - Self.millisecondsPerDay + 1) / Self.millisecondsPerDay
        self.date = CivilDate(daysSinceEpoch: Int(days))
    }

    /// `2026-11-27`.
    public var dayName: String { date.isoString }

    /// `2026-W48`: the ISO week-year and week, so 2027-01-03 is in `2026-W53`.
    public var weekName: String {
        let (year, week) = date.isoWeek
        return "\(CivilDate.pad(year, 4))-W\(CivilDate.pad(week, 2))"
    }

    /// `2026-11`.
    public var monthName: String { "\(CivilDate.pad(date.year, 4))-\(CivilDate.pad(date.month, 2))" }

    /// The name of this bucket's `period`, as used in Redis keys.
    public func name(of period: Period) -> String {
        switch period {
        case .day: dayName
        case .week: weekName
        case .month: monthName
        }
    }

    /// Seconds since the epoch at which the period containing this bucket ends (exclusive).
    public func end(of period: Period) -> Int64 {
        let days: Int
        switch period {
        case .day:
            days = date.daysSinceEpoch + 1
        case .week:
            days = date.daysSinceEpoch - (date.isoWeekday - 1) + 7
        case .month:
            let next =
                date.month == 12
                ? CivilDate(year: date.year + 1, month: 1, day: 1)
                : CivilDate(year: date.year, month: date.month + 1, day: 1)
            days = next.daysSinceEpoch
        }
        return Int64(days) * 86_400
    }
}
