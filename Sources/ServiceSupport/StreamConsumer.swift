import AnalyticsCore
import Logging
import Prometheus
import RedisClient
import ServiceLifecycle
import Synchronization

/// The worker loop of a consumer group, shared by the aggregator and the archiver: it recovers this
/// consumer's pending entries (at start and after every failure), claims entries abandoned by dead
/// consumers, runs the processor's housekeeping, reads new entries in batches for the processor,
/// backs off while something fails, proves life, and on graceful shutdown finishes the batches it
/// has read before it returns. What a batch means is the processor's business.
///
/// The order of its steps is decided by ``StreamConsumerSchedule``; this type does the I/O, through
/// a ``StreamGroupReader``, and hands the entries to a ``StreamBatchProcessor``. Its read loop is
/// what proves the process alive (``Liveness``), so a hung loop stops the watchdog pings.
public final class StreamConsumer: Service, Sendable {
    /// How the loop reads and paces itself; each consumer group chooses its own.
    public struct Settings: Sendable {
        /// Most entries in one batch.
        public var batchSize: Int
        /// Longest wait of a read for new entries (`BLOCK`).
        public var block: Duration = .seconds(1)
        /// An entry pending this long with another consumer is presumed abandoned and claimed.
        public var claimIdle: Duration = .seconds(30)
        /// How often claims and housekeeping run, and the backoff after a failure.
        public var timing = StreamConsumerSchedule.Timing()
        /// Batches being processed while the next one is read: 1 overlaps the next read with the
        /// current batch; more lets slow batches (PostgreSQL transactions) run side by side.
        public var batchesInFlight = 1
        /// After the first entries of a read, how long to keep reading for more, up to the batch
        /// size; nil: one read is one batch.
        public var gathering: Duration?
        /// A batch smaller than `fewerThan` is finished, then the next read waits `linger`: a trickle of events
        /// is then handled a few at a time rather than one by one.
        public var trickle: (fewerThan: Int, linger: Duration)?
        /// The status sent with `READY=1` once the loop first reads.
        public var readyStatus: String

        /// The other settings start at their defaults: one batch in flight, no gathering, no trickle.
        public init(batchSize: Int, readyStatus: String) {
            self.batchSize = batchSize
            self.readyStatus = readyStatus
        }
    }

    /// The consumer group, this consumer's name in it and its Redis clients.
    public let stream: StreamGroupReader
    /// Proof of life for `/healthz` and the watchdog, updated by every read.
    public let liveness: Liveness
    let processor: any StreamBatchProcessor
    let settings: Settings
    let errors: Counter
    let logger: Logger
    private let stopping = Mutex(false)

    /// - Parameters:
    ///   - stream: the group, this consumer's name in it, and the Redis clients to read it with.
    ///   - processor: what is done with the entries.
    ///   - settings: batch size, pacing and timing.
    ///   - registry: where the loop's error counter is registered.
    ///   - liveness: shared with the processor when waiting on a dependency is part of its work.
    public init(
        stream: StreamGroupReader, processor: any StreamBatchProcessor, settings: Settings, registry: MetricsRegistry,
        liveness: Liveness = Liveness(), logger: Logger
    ) {
        self.stream = stream
        self.processor = processor
        self.settings = settings
        self.liveness = liveness
        self.logger = logger
        errors = registry.prometheus.makeCounter(
            name: "analytics_consumer_errors_total", labels: [("group", stream.group.name)],
            help: "Failed steps of the consumer loop (each followed by a backoff and the recovery of pending entries)")
    }

    private var isStopping: Bool { stopping.withLock { $0 } || Task.isCancelled }

    /// Runs the loop until graceful shutdown (or cancellation), then finishes the batches already
    /// read and returns. Failures are never thrown: each one is logged, counted in
    /// `analytics_consumer_errors_total`, backed off and followed by recovery.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
        }
    }

    private func loop() async {
        var schedule = StreamConsumerSchedule(timing: settings.timing)
        var batches = BatchesInFlight(limit: settings.batchesInFlight)
        while true {
            if isStopping { schedule.stop() }
            let step = schedule.next(at: .now)
            do {
                switch step {
                case .finish:
                    // Entries already read are processed before stopping; what fails stays pending.
                    await batches.finishIgnoringErrors()
                    logger.info("consumer stopped", metadata: ["group": "\(stream.group)", "consumer": "\(stream.consumer)"])
                    return
                case .recover:
                    try await batches.finish()
                    try await stream.ensureGroup()
                    try await recoverPending()
                case .claim:
                    // Our own batches in flight must not look abandoned (a long PostgreSQL outage).
                    try await batches.finish()
                    let claimed = try await stream.claimAbandoned(idle: settings.claimIdle, count: settings.batchSize) {
                        try await self.processor.process($0)
                        self.liveness.progressed()
                    }
                    if claimed > 0 { logger.info("claimed abandoned entries", metadata: ["entries": "\(claimed)"]) }
                case .housekeeping:
                    try await processor.housekeeping()
                case .read:
                    let batch = try await read()
                    if !batch.isEmpty {
                        try await batches.add { try await self.processor.process(batch) }
                    }
                    if let trickle = settings.trickle, !batch.isEmpty, batch.count < trickle.fewerThan {
                        // No read ahead in a trickle: the pause starts once the batch is done, so
                        // the next batch gathers what arrived meanwhile.
                        try await batches.finish()
                        try? await Task.sleep(for: trickle.linger)
                    }
                    liveness.ready(status: settings.readyStatus)
                    liveness.progressed()
                }
                schedule.completed(step, at: .now)
            } catch {
                // What failed is in our pending list, which the recovery re-reads once the batches
                // in flight are over.
                await batches.finishIgnoringErrors()
                errors.increment()
                let pause = schedule.failed()
                logger.warning(
                    "consumer step failed; recovering",
                    metadata: ["group": "\(stream.group)", "step": "\(step)", "error": "\(error)", "retry_in": "\(pause)"])
                try? await Task.sleep(for: pause)
            }
        }
    }

    /// New entries, up to the batch size; with `gathering`, more reads after the first until the
    /// batch is full or `gathering` has passed.
    private func read() async throws -> [RedisStreamEntry] {
        var batch = try await stream.read(block: settings.block, count: settings.batchSize)
        guard let gathering = settings.gathering, !batch.isEmpty else { return batch }
        let deadline = ContinuousClock.now + gathering
        while batch.count < settings.batchSize, !isStopping {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .milliseconds(1) else { break }
            let more = try await stream.read(block: remaining, count: settings.batchSize - batch.count)
            if more.isEmpty { break }
            batch += more
        }
        return batch
    }

    /// Re-reads and processes this consumer's own pending entries (delivered before a crash or a
    /// failure), oldest first.
    private func recoverPending() async throws {
        var recovered = 0
        while !isStopping {
            let entries = try await stream.read(pending: true, count: settings.batchSize)
            if entries.isEmpty { break }
            try await processor.process(entries)
            // A long recovery is work, not a hang.
            liveness.progressed()
            recovered += entries.count
        }
        if recovered > 0 { logger.info("recovered pending entries", metadata: ["entries": "\(recovered)"]) }
    }
}
