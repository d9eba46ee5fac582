import AnalyticsCore
import Logging
import RedisClient
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// The `aggregator` consumer group's worker: reads the stream in batches and applies each batch with
/// `AggregationScript`, which counts and acknowledges in one atomic step (exactly once, whatever
/// crashes). At start it first finishes its own pending entries; periodically it claims entries left
/// pending by dead consumers; then it publishes a compact update for the WSHub.
public final class AggregatorConsumer: Service, Sendable {
    public static let group = "aggregator"

    public struct Settings: Sendable {
        public var consumerName: String
        public var keyspace: RedisKeyspace
        public var activeWindowMilliseconds: Int64
        public var batchSize = 2000
        /// After a batch smaller than `smallBatch`, the next read waits this long: at 1,000 events/s
        /// batches of one or two events cost the aggregator and Redis a seventh of a core each
        /// (`bench/wshub.sh`), for freshness that 10 ms more does not change (target 50 ms).
        public var smallBatch = 50
        public var lingerAfterSmallBatch: Duration = .milliseconds(10)
        public var block: Duration = .seconds(1)
        /// An entry pending this long with another consumer is presumed abandoned and claimed.
        public var claimIdle: Duration = .seconds(30)
        public var claimInterval: Duration = .seconds(5)
        public var housekeepingInterval: Duration = .seconds(2)
        public var themeCap = 1000

        public init(consumerName: String, keyspace: RedisKeyspace, activeWindowSeconds: Int) {
            self.consumerName = consumerName
            self.keyspace = keyspace
            self.activeWindowMilliseconds = Int64(activeWindowSeconds) * 1000
        }
    }

    let settings: Settings
    let stream: StreamGroupReader
    /// Scripts, publications and housekeeping.
    var writer: RedisClient { stream.writer }
    let metrics: AggregatorMetrics
    let health: StreamHealth
    let logger: Logger
    /// Proof of life for `/healthz` and the watchdog, updated by every loop iteration.
    public let liveness: Liveness
    /// What this consumer remembers having written of its visitors, so as not to write it again;
    /// valid only for the Redis connection it was written through.
    struct VisitorMemory {
        var throttle: ActiveVisitorThrottle
        var known = KnownDayVisitors()
        var connectionGeneration = 0

        /// Forgets everything if Redis may have lost writes since (an error, or another connection).
        mutating func check(connectionGeneration current: Int, failed: Bool = false) {
            guard failed || current != connectionGeneration else { return }
            throttle.reset()
            known.reset()
            connectionGeneration = current
        }
    }
    let visitorMemory: Mutex<VisitorMemory>

    public init(
        settings: Settings, reader: RedisClient, writer: RedisClient, metrics: AggregatorMetrics, health: StreamHealth, logger: Logger,
        liveness: Liveness = Liveness()
    ) {
        self.liveness = liveness
        self.settings = settings
        self.stream = StreamGroupReader(
            group: Self.group, consumer: settings.consumerName, keyspace: settings.keyspace, reader: reader, writer: writer,
            batchSize: settings.batchSize, claimIdle: settings.claimIdle)
        self.metrics = metrics
        self.health = health
        self.logger = logger
        self.visitorMemory = Mutex(VisitorMemory(throttle: ActiveVisitorThrottle(windowMilliseconds: settings.activeWindowMilliseconds)))
    }

    public func run() async throws {
        let stopping = Mutex(false)
        try await withGracefulShutdownHandler {
            var needsPendingRecovery = true
            var lastClaim = ContinuousClock.now - settings.claimInterval
            var lastHousekeeping = ContinuousClock.now - settings.housekeepingInterval
            var backoff: Duration = .milliseconds(100)
            // Under load the next read is sent while the current batch is applied, so Redis and
            // this process work at the same time instead of in turn.
            var prefetched: Task<[RedisStreamEntry], any Error>?
            while !Task.isCancelled {
                do {
                    if stopping.withLock({ $0 }) {
                        // Entries already delivered are applied before stopping; then we are done.
                        if let pending = prefetched {
                            prefetched = nil
                            try await apply(try await pending.value)
                        }
                        break
                    }
                    if needsPendingRecovery {
                        try await stream.ensureGroup()
                        try await recoverPending()
                        needsPendingRecovery = false
                    }
                    if ContinuousClock.now - lastClaim >= settings.claimInterval {
                        try await claimAbandoned()
                        lastClaim = ContinuousClock.now
                    }
                    if ContinuousClock.now - lastHousekeeping >= settings.housekeepingInterval {
                        try await housekeeping()
                        lastHousekeeping = ContinuousClock.now
                    }
                    let entries: [RedisStreamEntry]
                    if let next = prefetched {
                        prefetched = nil
                        entries = try await next.value
                    } else {
                        entries = try await stream.read(block: settings.block)
                    }
                    if entries.count >= settings.smallBatch {
                        prefetched = Task { try await self.stream.read(block: self.settings.block) }
                        try await apply(entries)
                    } else if !entries.isEmpty {
                        try await apply(entries)
                        // A trickle of events: let the next batch gather some, rather than paying
                        // a script, a publication and their wake-ups for every event or two.
                        try? await Task.sleep(for: settings.lingerAfterSmallBatch)
                    }
                    backoff = .milliseconds(100)
                    liveness.ready(status: "counting")
                    liveness.progressed()
                } catch {
                    // A read in flight may deliver entries; they are in our pending list, which the
                    // recovery below re-reads once that read is over.
                    _ = try? await prefetched?.value
                    prefetched = nil
                    metrics.recordError()
                    logger.warning("aggregator loop failed; retrying", metadata: ["error": "\(error)"])
                    // After a lost connection a read may have been delivered to us and not answered:
                    // it sits in our pending list, so recover it before reading new entries.
                    needsPendingRecovery = true
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(2))
                }
            }
            logger.info("aggregator stopped", metadata: ["consumer": "\(settings.consumerName)"])
        } onGracefulShutdown: {
            // The current batch is finished and acknowledged; the loop then ends.
            stopping.withLock { $0 = true }
        }
    }

    /// Re-reads and applies this consumer's own pending entries (delivered before a crash).
    func recoverPending() async throws {
        var recovered = 0
        while true {
            let entries = try await stream.read(pending: true)
            if entries.isEmpty { break }
            try await apply(entries)
            recovered += entries.count
        }
        if recovered > 0 {
            logger.info("recovered pending entries", metadata: ["entries": "\(recovered)"])
        }
    }

    /// Takes over entries pending too long with other (dead) consumers and applies them.
    func claimAbandoned() async throws {
        let claimed = try await stream.claimAbandoned { entries in try await apply(entries) }
        if claimed > 0 {
            logger.info("claimed abandoned entries", metadata: ["entries": "\(claimed)"])
        }
    }

    /// Applies one batch atomically, then reports it (metrics, realtime channel).
    @discardableResult
    public func apply(_ raw: [RedisStreamEntry]) async throws -> AggregationOutcome {
        let start = ContinuousClock.now
        let batch = AggregationBatch(raw)
        let now = EpochClock.milliseconds()
        let input = visitorMemory.withLock { memory in
            memory.check(connectionGeneration: writer.connectionGeneration)
            return batch.scriptInput(
                keyspace: settings.keyspace, group: Self.group, activeWindowMilliseconds: settings.activeWindowMilliseconds,
                themeCap: settings.themeCap, today: TimeBucket(epochMilliseconds: now), nowMilliseconds: now,
                throttle: &memory.throttle, knownVisitors: memory.known)
        }
        let outcome: AggregationOutcome
        do {
            let reply = try await AggregationScript.script.run(
                on: writer, keys: input.keys, arguments: input.arguments, timeout: .seconds(10))
            outcome = try AggregationOutcome(reply)
        } catch {
            // Whatever the memory holds may not have reached Redis.
            visitorMemory.withLock { $0.check(connectionGeneration: writer.connectionGeneration, failed: true) }
            throw error
        }
        visitorMemory.withLock { memory in
            // Recorded only if the script surely ran through the connection the memory belongs to.
            let before = memory.connectionGeneration
            memory.check(connectionGeneration: writer.connectionGeneration)
            guard memory.connectionGeneration == before else { return }
            for (day, visitors) in input.addedVisitors { memory.known.record(visitors, day: day) }
        }
        for dead in batch.dead {
            logger.error("stream entry sent to the dead-letter stream", metadata: ["entry": "\(dead.streamID)", "reason": "\(dead.reason)"])
        }
        let counted = zip(batch.entries, outcome.applied).filter(\.1).map(\.0)
        if !counted.isEmpty {
            var publish = RedisCommand("PUBLISH", settings.keyspace.realtimeChannel)
            publish.append(RealtimeUpdate.message(
                events: counted, currentVisitors: outcome.currentVisitors, uniqueToday: outcome.uniqueToday, nowMilliseconds: now))
            // Live updates are best effort (the counts are already safe): not awaited, so the next
            // batch does not wait for this round trip; the client keeps them in order.
            writer.sendWithoutWaiting([publish])
        }
        metrics.record(batch: batch, outcome: outcome, duration: ContinuousClock.now - start)
        return outcome
    }

    /// Proof of life for the gateway's readiness, the active window trimmed even without traffic,
    /// and the stream gauges.
    func housekeeping() async throws {
        let cutoff = EpochClock.milliseconds() - settings.activeWindowMilliseconds
        let replies = try await writer.pipeline([
            stream.aliveCommand,
            RedisCommand("ZREMRANGEBYSCORE", settings.keyspace.activeVisitors, "-inf", String(cutoff)),
            RedisCommand("ZCARD", settings.keyspace.activeVisitors),
        ])
        if let message = replies.compactMap(\.errorMessage).first { throw RedisError.server(message) }
        metrics.setCurrentVisitors(replies[2].int ?? 0)
        try await health.refresh()
    }
}
