import AnalyticsCore

/// When to restart a worker that ended, and when to give up: exponential backoff with jitter, and a
/// restart intensity — more than `maximumRestarts` within `window` of ends that show the worker
/// cannot run (it never became ready, or crashed within ``crashLoopUptime`` of its start) means the
/// supervisor stops everything and exits non-zero (systemd takes over).
///
/// A worker that became ready and ran a while was working: whatever ended it (an operator's or the
/// OOM killer's signal, a lost dependency) is no sign that a restart is futile, so it is restarted
/// however often, after a backoff capped at ``maximumBackoffAfterReady``. A value type, driven by
/// the times it is given. ``Supervisor`` keeps one per worker.
public struct RestartPolicy: Sendable, Equatable {
    /// Restarts allowed within ``window``; the next end within it gives up.
    public var maximumRestarts = 5
    /// The sliding window the restarts are counted in.
    public var window: Duration = .seconds(60)
    /// The delay before the first restart; it doubles with each failure in a row.
    public var initialBackoff: Duration = .milliseconds(100)
    /// The longest delay before a restart.
    public var maximumBackoff: Duration = .seconds(10)
    /// A worker up this long has its backoff reset (its next restart waits ``initialBackoff``).
    public var stableAfter: Duration = .seconds(30)
    /// A worker that ends sooner than this after its start counts against the intensity limit even if
    /// it had become ready: a crash loop.
    public var crashLoopUptime: Duration = .seconds(2)
    /// The longest delay before restarting a worker that had been ready.
    public var maximumBackoffAfterReady: Duration = .seconds(1)

    /// Restarts within the window, oldest first (as offsets on the caller's clock).
    private(set) var recentRestarts: [ContinuousClock.Instant] = []
    private(set) var consecutiveFailures = 0

    /// The default policy: 5 failed starts per 60 s, backoff from 100 ms doubling to 10 s (1 s for a
    /// worker that had been ready), reset after 30 s of uptime.
    public init() {}

    /// What to do about a worker that ended.
    public enum Decision: Sendable, Equatable {
        /// Start it again after this delay (the backoff, with jitter).
        case restart(after: Duration)
        /// It ended too often within the window: stop everything.
        case giveUp
    }

    /// Records that the worker ended (or could not start) and decides what follows. A restart is
    /// counted in the window when it is decided, not when it happens.
    /// - Parameters:
    ///   - now: when the worker ended.
    ///   - uptime: how long it had run.
    ///   - becameReady: whether it had said it was ready (`READY=1`).
    ///   - jitter: a value in 0..<1 (random in production, fixed in tests).
    public mutating func workerEnded(at now: ContinuousClock.Instant, uptime: Duration, becameReady: Bool = false, jitter: Double)
        -> Decision
    {
        let wasWorking = becameReady && uptime >= crashLoopUptime
        recentRestarts.removeAll { now - $0 > window }
        if !wasWorking {
            if recentRestarts.count >= maximumRestarts { return .giveUp }
            recentRestarts.append(now)
        }
        consecutiveFailures = uptime >= stableAfter ? 1 : consecutiveFailures + 1
        var backoff = Backoff(initial: initialBackoff, maximum: wasWorking ? min(maximumBackoff, maximumBackoffAfterReady) : maximumBackoff)
        for _ in 1..<min(consecutiveFailures, 64) { _ = backoff.next() }
        // ±20 %: workers that fail together do not restart in lockstep.
        let factor = 0.8 + 0.4 * min(max(jitter, 0), 1)
        return .restart(after: .milliseconds(Int64((backoff.current.inSeconds * 1000 * factor).rounded())))
    }
}
