import AnalyticsCore
import Foundation

/// What a batch of newly stored events adds to the history's rollups: per hour, and per day and
/// dimension value, the number of events, of pageviews, and the distinct visitors (by their
/// ``VisitorSketch`` hash, computed once per event; each row's set becomes a mergeable sketch).
/// Built from the events a transaction actually inserted, so that an event stored twice (a
/// re-delivery, an import of what is already there) is counted once.
struct RollupBatch: Sendable {
    /// The counts of one hour or one day's dimension value.
    struct Counts: Sendable, Equatable {
        var events: Int64 = 0
        var pageviews: Int64 = 0
        /// The visitors' hashes (``VisitorSketch/hash(_:)``).
        var visitors: Set<Int64> = []
    }

    /// A day's value of one dimension; dimension and value are empty for the day's totals.
    struct DayKey: Sendable, Hashable, Comparable {
        var day: CivilDate
        var dimension: String
        var value: String

        /// The order of the table's primary key, in which concurrent archivers lock the rows.
        static func < (a: DayKey, b: DayKey) -> Bool {
            (a.dimension, a.day, a.value) < (b.dimension, b.day, b.value)
        }
    }

    /// Counts per hour, by the hour's start in seconds since the Unix epoch.
    private(set) var hours: [Int64: Counts] = [:]
    /// Counts per day: the day's totals, and each dimension's values.
    private var dayGroups: [CivilDate: DayGroups] = [:]

    /// One day's counts, kept per dimension so that counting an event hashes only its values.
    struct DayGroups: Sendable {
        var totals = Counts()
        /// Per dimension, in the order of ``RollupBatch/dimensionNames``: counts by value.
        var values = [[String: Counts]](repeating: [:], count: RollupBatch.dimensionNames.count)
    }

    /// The dimensions of `analytics_rollup_days` besides the totals: the event type, then the
    /// columns of ``EventDimensions``.
    static let dimensionNames = ["event_type"] + EventDimensions.Name.allCases.map(\.rawValue)

    init() {}

    /// A batch of these events.
    init(_ events: some Sequence<AnalyticsEvent>) {
        for event in events { add(event) }
    }

    var isEmpty: Bool { hours.isEmpty }

    /// Counts one event in its hour, its day's totals and each of its dimension values.
    mutating func add(_ event: AnalyticsEvent) {
        let pageview: Int64 = event.eventType == DomainEvent.pageview ? 1 : 0
        let visitor = Int64(bitPattern: VisitorSketch.hash(event.visitorID))
        hours[Self.hourStart(ofMilliseconds: event.createdAt), default: Counts()].count(visitor: visitor, pageviews: pageview)
        dayGroups[TimeBucket(epochMilliseconds: event.createdAt).date, default: DayGroups()].add(
            event, visitor: visitor, pageviews: pageview)
    }

    /// The start of the UTC hour holding an instant, in seconds (floored, also before 1970).
    static func hourStart(ofMilliseconds ms: Int64) -> Int64 {
        let hourMilliseconds: Int64 = 3_600_000
        let floored = ms >= 0 ? ms / hourMilliseconds : (ms - hourMilliseconds + 1) / hourMilliseconds
        return floored * 3600
    }

    /// The hours in ascending order.
    var sortedHours: [(start: Int64, counts: Counts)] {
        hours.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The day rows in the primary key's order.
    var sortedDays: [(key: DayKey, counts: Counts)] {
        var rows: [(key: DayKey, counts: Counts)] = []
        let days = dayGroups.keys.sorted()
        for (dimension, index) in Self.dimensionsInKeyOrder {
            for day in days {
                guard let groups = dayGroups[day] else { continue }
                guard let index else {
                    rows.append((DayKey(day: day, dimension: "", value: ""), groups.totals))
                    continue
                }
                for (value, counts) in groups.values[index].sorted(by: { $0.key < $1.key }) {
                    rows.append((DayKey(day: day, dimension: dimension, value: value), counts))
                }
            }
        }
        return rows
    }

    /// The dimensions in the key's order, each with its position in ``dimensionNames`` (nil for the
    /// totals, whose dimension is empty).
    static let dimensionsInKeyOrder: [(name: String, index: Int?)] =
        [("", nil)] + dimensionNames.enumerated().sorted { $0.element < $1.element }.map { ($0.element, $0.offset) }

    /// The weeks (their Mondays) of the batch's days.
    var weeks: Set<CivilDate> {
        Set(dayGroups.keys.map(\.monday))
    }

    /// What the batch adds to the rows of `weeks` in `analytics_rollup_weeks`: its day rows of those
    /// weeks merged per week (the key's day is the Monday), in the primary key's order.
    func weekRows(of weeks: Set<CivilDate>) -> [(key: DayKey, counts: Counts)] {
        var merged: [DayKey: Counts] = [:]
        for (key, counts) in sortedDays where weeks.contains(key.day.monday) {
            merged[DayKey(day: key.day.monday, dimension: key.dimension, value: key.value), default: Counts()].merge(counts)
        }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

extension RollupBatch.DayGroups {
    mutating func add(_ event: AnalyticsEvent, visitor: Int64, pageviews: Int64) {
        totals.count(visitor: visitor, pageviews: pageviews)
        values[0][event.eventType, default: RollupBatch.Counts()].count(visitor: visitor, pageviews: pageviews)
        event.dimensions.forEachValue { index, value in
            values[index + 1][value, default: RollupBatch.Counts()].count(visitor: visitor, pageviews: pageviews)
        }
    }
}

extension RollupBatch.Counts {
    mutating func count(visitor: Int64, pageviews: Int64) {
        events += 1
        self.pageviews += pageviews
        visitors.insert(visitor)
    }

    /// Adds counts of other events (of another day of the same week, say).
    mutating func merge(_ other: Self) {
        events += other.events
        pageviews += other.pageviews
        visitors.formUnion(other.visitors)
    }
}
