/// Remembers when this consumer last put each visitor in the active-visitor set, so that a visitor
/// seen again within `granularity` is not re-added: "current visitors" needs last-seen times to a
/// small fraction of the window, not to the event, and re-adding every event was the largest single
/// cost of the batch script in Redis. Skipping is safe: `ZADD GT` only ever moves a visitor's time
/// forward, and a skipped update is at most `granularity` older than the truth, so a visitor leaves
/// the window at most that much early (by default a sixtieth of it: 5 s of 5 minutes).
///
/// Like ``KnownDayVisitors``, what it remembers must be true in Redis: ``AggregationProcessor``
/// resets it after an error or a new Redis connection.
public struct ActiveVisitorThrottle: Sendable {
    /// The smallest step by which a visitor's recorded last-seen time moves forward.
    public let granularityMilliseconds: Int64
    /// The active window (`ANALYTICS_ACTIVE_WINDOW_SEC`).
    public let windowMilliseconds: Int64
    private var recorded: [String: Int64] = [:]
    private var lastPrune: Int64?

    /// - Parameter granularityMilliseconds: by default a sixtieth of the window.
    public init(granularityMilliseconds: Int64? = nil, windowMilliseconds: Int64) {
        self.granularityMilliseconds = granularityMilliseconds ?? windowMilliseconds / 60
        self.windowMilliseconds = windowMilliseconds
    }

    /// Visitors remembered.
    public var count: Int { recorded.count }

    /// Whether `visitor` seen at `ms` must be written to the set: never written, or at least one
    /// granularity after the time last written. Records it if so, before the write is done, so the
    /// caller resets the throttle if the write fails.
    public mutating func shouldRecord(_ visitor: String, at ms: Int64) -> Bool {
        // One hash lookup: `.min` stands for "never recorded".
        Self.update(&recorded[visitor, default: .min], to: ms, granularity: granularityMilliseconds)
    }

    private static func update(_ previous: inout Int64, to ms: Int64, granularity: Int64) -> Bool {
        guard previous == .min || ms >= previous + granularity else { return false }
        previous = ms
        return true
    }

    /// Forgets visitors whose last write has left the window (they must be written again), at most
    /// once per granularity, so it can be called for every batch.
    public mutating func prune(now: Int64) {
        if let lastPrune, now - lastPrune < granularityMilliseconds { return }
        lastPrune = now
        let cutoff = now - windowMilliseconds
        recorded = recorded.filter { $0.value > cutoff }
    }

    /// After an error the set may have lost writes (a Redis restart): start afresh.
    public mutating func reset() {
        recorded = [:]
    }
}
