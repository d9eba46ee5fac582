import AnalyticsCore

/// The decisions of a stream consumer's loop, apart from its I/O: which step comes next, given the
/// time and what happened so far. A value type, tested without Redis.
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

    public struct Timing: Sendable {
        /// How often entries abandoned by other consumers are looked for.
        public var claimInterval: Duration
        /// How often the processor's housekeeping runs.
        public var housekeepingInterval: Duration
        /// The pause after a failed step, doubling while failures go on.
        public var backoff: Backoff

        public init(
            claimInterval: Duration = .seconds(5), housekeepingInterval: Duration = .seconds(2),
            backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        ) {
            self.claimInterval = claimInterval
            self.housekeepingInterval = housekeepingInterval
            self.backoff = backoff
        }
    }

    public let timing: Timing
    private var needsRecovery = true
    private var lastClaim: ContinuousClock.Instant?
    private var lastHousekeeping: ContinuousClock.Instant?
    private var stopRequested = false
    private var backoff: Backoff

    public init(timing: Timing = Timing()) {
        self.timing = timing
        backoff = timing.backoff
    }

    /// The step to take at `now`.
    public func next(at now: ContinuousClock.Instant) -> Step {
        if stopRequested { return .finish }
        if needsRecovery { return .recover }
        if Self.isDue(lastClaim, every: timing.claimInterval, at: now) { return .claim }
        if Self.isDue(lastHousekeeping, every: timing.housekeepingInterval, at: now) { return .housekeeping }
        return .read
    }

    /// `step`, returned by `next(at:)`, succeeded at `now`.
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

    /// The process is stopping: the next step is `.finish`.
    public mutating func stop() {
        stopRequested = true
    }

    private static func isDue(_ last: ContinuousClock.Instant?, every interval: Duration, at now: ContinuousClock.Instant) -> Bool {
        guard let last else { return true }
        return now - last >= interval
    }
}
