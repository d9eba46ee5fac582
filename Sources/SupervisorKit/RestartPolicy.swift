import AnalyticsCore

/// When to restart a worker that ended, and when to give up: exponential backoff with jitter, and a
/// restart intensity — more than `maximumRestarts` within `window` means the worker cannot run, so
/// the supervisor stops everything and exits non-zero (systemd takes over). A value type, driven by
/// the times it is given.
public struct RestartPolicy: Sendable, Equatable {
    public var maximumRestarts = 5
    public var window: Duration = .seconds(60)
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(10)
    /// A worker up this long has its backoff reset.
    public var stableAfter: Duration = .seconds(30)

    /// Restarts within the window, oldest first (as offsets on the caller's clock).
    private(set) var recentRestarts: [ContinuousClock.Instant] = []
    private(set) var consecutiveFailures = 0

    public init() {}

    public enum Decision: Sendable, Equatable {
        case restart(after: Duration)
        case giveUp
    }

    /// - Parameters:
    ///   - now: when the worker ended.
    ///   - uptime: how long it had run.
    ///   - jitter: a value in 0..<1 (random in production, fixed in tests).
    public mutating func workerEnded(at now: ContinuousClock.Instant, uptime: Duration, jitter: Double) -> Decision {
        recentRestarts.removeAll { now - $0 > window }
        if recentRestarts.count >= maximumRestarts { return .giveUp }
        recentRestarts.append(now)
        consecutiveFailures = uptime >= stableAfter ? 1 : consecutiveFailures + 1
        var backoff = Backoff(initial: initialBackoff, maximum: maximumBackoff)
        for _ in 1..<min(consecutiveFailures, 64) { _ = backoff.next() }
        // ±20 %: workers that fail together do not restart in lockstep.
        let factor = 0.8 + 0.4 * min(max(jitter, 0), 1)
        return .restart(after: .milliseconds(Int64((backoff.current.inSeconds * 1000 * factor).rounded())))
    }
}
