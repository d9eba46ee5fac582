import AnalyticsCore

/// The decisions of a stream consumer's loop, apart from its I/O: which step comes next, given the
/// time and what happened so far. A value type, tested without Redis; ``StreamConsumer`` drives it
/// by calling ``next(at:)``, doing the step, then ``completed(_:at:)`` or ``failed()``.
///
/// The order it keeps is what makes the consumer exact: its own pending entries (delivered to it
/// before a crash or a lost connection) are recovered before any new entry is read, after every
/// failure as well as at start; entries abandoned by dead consumers are claimed periodically; and a
/// stop finishes the batches in flight before the loop ends.
public struct StreamConsumerSchedule: Sendable {
    /// One step of the loop.
    public enum Step: Sendable, Equatable {
        /// Finish the batches in flight, create the group if it is missing, then re-read and
        /// process this consumer's own pending entries.
        case recover
        /// Finish the batches in flight, then claim and process the entries pending too long with
        /// other consumers.
        case claim
        /// The processor's periodic work (proof of life, gauges, maintenance).
        case housekeeping
        /// Read new entries and hand them to the processor.
        case read
        /// Finish the batches in flight; the loop ends.
        case finish
    }

    /// The periods of the loop's recurring steps, and its backoff after failures.
    public struct Timing: Sendable {
        /// How often entries abandoned by other consumers are looked for.
        public var claimInterval: Duration
        /// How often the processor's housekeeping runs.
        public var housekeepingInterval: Duration
        /// The pause after a failed step, doubling while failures go on.
        public var backoff: Backoff

        /// By default: claims every 5 s, housekeeping every 2 s, and a backoff from 100 ms doubling
        /// to 2 s.
        public init(
            claimInterval: Duration = .seconds(5), housekeepingInterval: Duration = .seconds(2),
            backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        ) {
            self.claimInterval = claimInterval
            self.housekeepingInterval = housekeepingInterval
            self.backoff = backoff
        }
    }

    /// The periods and backoff this schedule was made with.
    public let timing: Timing
    private var needsRecovery = true
    private var lastClaim: ContinuousClock.Instant?
    private var lastHousekeeping: ContinuousClock.Instant?
    private var stopRequested = false
    private var backoff: Backoff

    /// A schedule whose first step is ``Step/recover``, then a claim and housekeeping at once.
    public init(timing: Timing = Timing()) {
        self.timing = timing
        backoff = timing.backoff
    }

    /// The step to take at `now`: finish once stopping, else recovery while it is needed, else a
    /// claim or housekeeping when due (claims first), else a read.
    public func next(at now: ContinuousClock.Instant) -> Step {
        if stopRequested { return .finish }
        if needsRecovery { return .recover }
        if Self.isDue(lastClaim, every: timing.claimInterval, at: now) { return .claim }
        if Self.isDue(lastHousekeeping, every: timing.housekeepingInterval, at: now) { return .housekeeping }
        return .read
    }

    /// `step`, returned by ``next(at:)``, succeeded at `now`. A successful read also resets the
    /// backoff.
    public mutating func completed(_ step: Step, at now: ContinuousClock.Instant) {
        switch step {
        case .recover: needsRecovery = false
        case .claim: lastClaim = now
        case .housekeeping: lastHousekeeping = now
        case .read: backoff.reset()
        case .finish: break
        }
    }

    /// A step failed. Entries delivered by a read or a claim that failed half-way sit in this
    /// consumer's pending list, so the next step is recovery.
    /// - Returns: how long to pause first.
    public mutating func failed() -> Duration {
        needsRecovery = true
        return backoff.next()
    }

    /// The process is stopping: the next step is ``Step/finish``, whatever else is due.
    public mutating func stop() {
        stopRequested = true
    }

    private static func isDue(_ last: ContinuousClock.Instant?, every interval: Duration, at now: ContinuousClock.Instant) -> Bool {
        guard let last else { return true }
        return now - last >= interval
    }
}
