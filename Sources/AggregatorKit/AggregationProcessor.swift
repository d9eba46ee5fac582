import AnalyticsCore
import Logging
import RedisClient
import ServiceSupport
import Synchronization

/// What the `aggregator` consumer group does with a batch: applies it with `AggregationScript`,
/// which counts and acknowledges in one atomic step (exactly once, whatever crashes), then
/// publishes a compact update for the WSHub. Its housekeeping proves the group alive, trims the
/// active-visitor window even without traffic and refreshes the stream gauges.
public final class AggregationProcessor: StreamBatchProcessor {
    public struct Settings: Sendable {
        public var keyspace: RedisKeyspace
        public var activeWindowMilliseconds: Int64
        /// Most themes kept in the top-themes set.
        public var themeCap = 1000

        public init(keyspace: RedisKeyspace, activeWindowSeconds: Int) {
            self.keyspace = keyspace
            self.activeWindowMilliseconds = Int64(activeWindowSeconds) * 1000
        }
    }

    /// How the aggregator's consumer reads: batches of up to 2,000 entries, the next read sent
    /// while the current batch is applied (Redis and this process then work at the same time),
    /// and a short pause after a batch of a few events: at low rates, a script, a publication and
    /// their wake-ups for every event or two cost more than the 10 ms of freshness they save.
    public static let consumerSettings: StreamConsumer.Settings = {
        var settings = StreamConsumer.Settings(batchSize: 2000, readyStatus: "counting")
        settings.batchesInFlight = 1
        settings.trickle = (fewerThan: 50, linger: .milliseconds(10))
        return settings
    }()

    let settings: Settings
    let stream: StreamGroupReader
    /// Scripts, publications and housekeeping.
    var writer: RedisClient { stream.writer }
    let metrics: AggregatorMetrics
    let health: StreamHealth
    let logger: Logger
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

    /// - Parameter stream: the `aggregator` group as this consumer reads it.
    public init(settings: Settings, stream: StreamGroupReader, metrics: AggregatorMetrics, health: StreamHealth, logger: Logger) {
        precondition(stream.group == .aggregator)
        self.settings = settings
        self.stream = stream
        self.metrics = metrics
        self.health = health
        self.logger = logger
        self.visitorMemory = Mutex(VisitorMemory(throttle: ActiveVisitorThrottle(windowMilliseconds: settings.activeWindowMilliseconds)))
    }

    public func process(_ entries: [RedisStreamEntry]) async throws {
        try await apply(entries)
    }

    /// Applies one batch atomically, then reports it (metrics, realtime channel).
    /// - Returns: which entries were counted (the others had been counted before) and the
    ///   figures the script read back.
    @discardableResult
    public func apply(_ raw: [RedisStreamEntry]) async throws -> AggregationOutcome {
        let start = ContinuousClock.now
        let batch = AggregationBatch(raw)
        let now = EpochClock.milliseconds()
        let input = visitorMemory.withLock { memory in
            memory.check(connectionGeneration: writer.connectionGeneration)
            return batch.scriptInput(
                keyspace: settings.keyspace, group: stream.group.name, activeWindowMilliseconds: settings.activeWindowMilliseconds,
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
    public func housekeeping() async throws {
        let cutoff = EpochClock.milliseconds() - settings.activeWindowMilliseconds
        let replies = try await writer.checkedPipeline([
            stream.aliveCommand,
            RedisCommand("ZREMRANGEBYSCORE", settings.keyspace.activeVisitors, "-inf", String(cutoff)),
            RedisCommand("ZCARD", settings.keyspace.activeVisitors),
        ])
        metrics.setCurrentVisitors(replies[2].int ?? 0)
        try await health.refresh()
    }
}
