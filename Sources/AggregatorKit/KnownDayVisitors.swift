/// The visitors this consumer has already added to each day's unique-visitor HyperLogLogs (and so
/// to the day's week and month ones, written by the same script). A visitor seen again the same day
/// is left out of the script's arguments: adding it again would change nothing, yet Redis would
/// copy it into Lua and hash it into three HyperLogLogs on every batch that mentions it.
///
/// What it remembers must be true in Redis: the caller forgets everything after an error or when
/// its Redis connection changed (a restarted Redis may have lost the last writes), and records a
/// batch's visitors only once the script has applied it. ``AggregationProcessor`` does both.
public struct KnownDayVisitors: Sendable {
    /// Above this many remembered visitors the memory starts afresh (bounded memory whatever the
    /// traffic; forgetting only costs redundant adds).
    public let capacity: Int
    /// Days older than the newest one seen by more than this are forgotten (late events of such days
    /// are rare and are simply added again).
    public let daysKept: Int64
    private var visitorsByDay: [Int64: Set<String>] = [:]
    /// Visitors remembered, over all days.
    public private(set) var count = 0

    public init(capacity: Int = 500_000, daysKept: Int64 = 1) {
        self.capacity = capacity
        self.daysKept = daysKept
    }

    /// Whether `visitor` is known to be in the HyperLogLogs of `day` (days since the epoch).
    public func contains(_ visitor: String, day: Int64) -> Bool {
        visitorsByDay[day]?.contains(visitor) ?? false
    }

    /// Remembers visitors the script has just added for `day` (days since the epoch). A day older
    /// than the newest kept by more than ``daysKept`` is ignored, and recording a day forgets the
    /// days more than ``daysKept`` before it.
    public mutating func record(_ visitors: some Sequence<String>, day: Int64) {
        if let newest = visitorsByDay.keys.max(), day < newest - daysKept { return }
        var set = visitorsByDay.removeValue(forKey: day) ?? []
        count -= set.count
        for visitor in visitors { set.insert(visitor) }
        count += set.count
        visitorsByDay[day] = set
        for old in visitorsByDay.keys where old < day - daysKept {
            count -= visitorsByDay.removeValue(forKey: old)?.count ?? 0
        }
        if count > capacity { reset() }
    }

    /// Forgets everything: Redis may have lost writes (an error, a new connection).
    public mutating func reset() {
        visitorsByDay = [:]
        count = 0
    }
}
