/// The points of a timeseries: every interval that overlaps the range, in order, each with its start
/// and its label, so that intervals without events are answered as zeros. Weeks start on Monday
/// (ISO weeks) and months on their first day, even when the range starts later: the first and last
/// points then count only the range's days.
public struct HistoryTimeline: Sendable, Equatable {
    /// One point: where its interval starts, in seconds since the Unix epoch (UTC), and its label.
    public struct Point: Sendable, Equatable {
        public var start: Int64
        /// `YYYY-MM-DDTHH:00:00Z` for hours, `YYYY-MM-DD` (the first day) otherwise.
        public var label: String
    }

    public let points: [Point]

    /// The points of `interval` from `from` to `to`, both days included.
    public init(from: CivilDate, to: CivilDate, interval: HistoryRequest.Interval) {
        var points: [Point] = []
        switch interval {
        case .hour:
            for day in from.daysSinceEpoch...to.daysSinceEpoch {
                let date = CivilDate(daysSinceEpoch: day).isoString
                for hour in 0..<24 {
                    points.append(
                        Point(start: Int64(day) * 86_400 + Int64(hour) * 3600, label: "\(date)T\(CivilDate.pad(hour, 2)):00:00Z"))
                }
            }
        case .day:
            for day in from.daysSinceEpoch...to.daysSinceEpoch {
                points.append(Self.point(CivilDate(daysSinceEpoch: day)))
            }
        case .week:
            var monday = from.daysSinceEpoch - (from.isoWeekday - 1)
            while monday <= to.daysSinceEpoch {
                points.append(Self.point(CivilDate(daysSinceEpoch: monday)))
                monday += 7
            }
        case .month:
            var first = CivilDate(year: from.year, month: from.month, day: 1)
            while first <= to {
                points.append(Self.point(first))
                first =
                    first.month == 12
                    ? CivilDate(year: first.year + 1, month: 1, day: 1) : CivilDate(year: first.year, month: first.month + 1, day: 1)
            }
        }
        self.points = points
    }

    private static func point(_ day: CivilDate) -> Point {
        Point(start: Int64(day.daysSinceEpoch) * 86_400, label: day.isoString)
    }
}
