import AnalyticsCore
import RedisClient
import Synchronization

/// Sends events to the ingest script in batches (``GroupCommitQueue``): an event that finds the
/// script idle goes at once, alone; events that arrive while a run is in flight go together in the
/// next one. Under load one run carries many events, which is what keeps the shared limits cheap
/// for Redis: one script call, one clock read, one stream length and one write of each client's
/// budget per batch instead of per event.
final class IngestBatcher: Sendable {
    /// One event waiting for, or in, a run of the script.
    struct Pending: Sendable {
        /// The event's rate-limit key and event-id key.
        let keys: (rate: String, id: String)
        /// Its cost, idempotency window, field count and fields, as the script reads them.
        let arguments: [String]
        let enqueuedAt: ContinuousClock.Instant
        let then: @Sendable (Result<EventPublisher.Outcome, EventPublisher.Failure>) -> Void
    }

    /// Runs in flight at once: one, so that events gather while it runs.
    static let maximumInFlight = 1
    /// Events in one run, at most.
    static let maximumBatch = 64

    private let redis: RedisClient
    private let stream: String
    /// The rate limit's window: a minute, in microseconds (an event costs the window / the limit).
    static let rateWindowMicroseconds = 60_000_000
    private let ceiling: String
    private let deadline: Duration
    private let script = IngestScript.shared
    private let queue = Mutex(GroupCommitQueue<Pending>(maximumInFlight: maximumInFlight, maximumBatch: maximumBatch))

    /// - Parameters:
    ///   - redis: the client that writes to the stream.
    ///   - stream: the stream's key.
    ///   - streamMaxEvents: the stream's ceiling.
    ///   - deadline: the longest an event waits for its answer, its wait for a run included.
    init(redis: RedisClient, stream: String, streamMaxEvents: Int, deadline: Duration) {
        self.redis = redis
        self.stream = stream
        ceiling = String(streamMaxEvents)
        self.deadline = deadline
    }

    /// Queues one event; its `then` is called once, from the Redis client's thread.
    func submit(_ event: Pending) {
        if let batch = queue.withLock({ $0.enqueue(event) }) { run(batch) }
    }

    private func run(_ batch: [Pending]) {
        let now = ContinuousClock.now
        // An event that waited its whole deadline is answered without being sent.
        var live: [Pending] = []
        live.reserveCapacity(batch.count)
        for event in batch {
            if now - event.enqueuedAt >= deadline {
                event.then(.failure(.unavailable("timed out waiting for the ingest script")))
            } else {
                live.append(event)
            }
        }
        guard let oldest = live.first else { return finished() }
        var keys = [stream]
        keys.reserveCapacity(1 + 2 * live.count)
        var arguments = [String(Self.rateWindowMicroseconds), ceiling]
        arguments.reserveCapacity(2 + live.count * 14)
        for event in live {
            keys.append(event.keys.rate)
            keys.append(event.keys.id)
            arguments.append(contentsOf: event.arguments)
        }
        let timeout = deadline - (now - oldest.enqueuedAt)
        script.run(on: redis, keys: keys, arguments: arguments, timeout: timeout) { [self, live] result in
            let outcomes = EventPublisher.outcomes(from: result, count: live.count)
            for (event, outcome) in zip(live, outcomes) { event.then(outcome) }
            finished()
        }
    }

    private func finished() {
        if let next = queue.withLock({ $0.batchFinished() }) { run(next) }
    }
}
