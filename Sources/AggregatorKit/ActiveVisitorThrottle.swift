/// Remembers when this consumer last put each visitor in the active-visitor set, so that a visitor
/// seen again within `granularity` is not re-added: "current visitors" needs last-seen times to a
/// small fraction of the window, not to the event, and re-adding every event was the largest single
/// cost of the batch script in Redis. Skipping is safe: `ZADD GT` only ever moves a visitor's time
/// forward, and a skipped update is at most `granularity` older than the truth, so a visitor leaves
/// the window at most that much early (by default a sixtieth of it: 5 s of 5 minutes).
public struct ActiveVisitorThrottle: Sendable {
    public let granularityMilliseconds: Int64
    public let windowMilliseconds: Int64
    private var recorded: [String: Int64] = [:]
    private var lastPrune: Int64?

    public init(granularityMilliseconds: Int64? = nil, windowMilliseconds: Int64) {
        self.granularityMilliseconds = granularityMilliseconds ?? windowMilliseconds / 60
        self.windowMilliseconds = windowMilliseconds
    }

    public var count: Int { recorded.count }

    /// Whether `visitor` seen at `ms` must be written to the set; records it if so.
    public mutating func shouldRecord(_ visitor: String, at ms: Int64) -> Bool {
        // One hash lookup: `.min` stands for "never recorded".
        Self.update(&recorded[visitor, default: .min], to: ms, granularity: granularityMilliseconds)
    }

    private static func update(_ previous: inout Int64, to ms: Int64, granularity: Int64) -> Bool {
        guard previous == .min || ms >= previous + granularity else { return false }
        previous = ms
        return true
    }

    /// Forgets visitors whose last write has left the window (they must be written again).
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
