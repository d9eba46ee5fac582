import AnalyticsCore
import Logging
import RedisClient
import ServiceSupport
import Synchronization

/// What the `aggregator` consumer group does with a batch: applies it with one Lua script
/// (`AggregationScript`), which counts and acknowledges in one atomic step (exactly once, whatever
/// crashes), then publishes a compact update for the WSHub (``RealtimeUpdate``). Its housekeeping
/// proves the group alive, trims the active-visitor window even without traffic and refreshes the
/// stream gauges.
///
/// For every entry the script calls `XACK` and counts the entry only if `XACK` answered 1, that is,
/// if it was still pending in the group: an entry delivered twice is counted by whichever script
/// acknowledges it first, and by no other. ``AggregationBatch`` lays the batch out for the script;
/// ``KnownDayVisitors`` and ``ActiveVisitorThrottle`` leave out the idempotent writes Redis already
/// holds. A `StreamConsumer` with ``consumerSettings`` runs it.
public final class AggregationProcessor: StreamBatchProcessor {
    /// Where the aggregates are and how they are kept.
    public struct Settings: Sendable {
        public var keyspace: RedisKeyspace
        /// How long a visitor stays current after their last event.
        public var activeWindowMilliseconds: Int64
        /// Most themes kept in the top-themes set.
        public var themeCap = 1000

        /// - Parameter activeWindowSeconds: `ANALYTICS_ACTIVE_WINDOW_SEC`.
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

    /// - Parameters:
    ///   - stream: the `aggregator` group as this consumer reads it (any other group is a programming
    ///     error); its writer runs the scripts, publications and housekeeping.
    ///   - metrics: the business and batch metrics, recorded after each batch.
    ///   - health: the stream gauges, refreshed by the housekeeping.
    public init(settings: Settings, stream: StreamGroupReader, metrics: AggregatorMetrics, health: StreamHealth, logger: Logger) {
        precondition(stream.group == .aggregator)
        self.settings = settings
        self.stream = stream
        self.metrics = metrics
        self.health = health
        self.logger = logger
        self.visitorMemory = Mutex(VisitorMemory(throttle: ActiveVisitorThrottle(windowMilliseconds: settings.activeWindowMilliseconds)))
    }

    /// Applies the batch (see ``apply(_:)``).
    public func process(_ entries: [RedisStreamEntry]) async throws {
        try await apply(entries)
    }

    /// Applies one batch atomically, then reports it (metrics, realtime channel).
    /// - Returns: which entries were counted (the others had been counted before) and the
    ///   figures the script read back.
    /// - Throws: a Redis error when the script did not answer. Whether it ran or not, applying the
    ///   same entries again counts each of them once.
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
            logger.error(
                "stream entry sent to the dead-letter stream", metadata: ["entry": "\(dead.streamID)", "reason": "\(dead.reason)"])
        }
        let counted = zip(batch.entries, outcome.applied).filter(\.1).map(\.0)
        if !counted.isEmpty {
            var publish = RedisCommand("PUBLISH", settings.keyspace.realtimeChannel)
            publish.append(
                RealtimeUpdate.message(
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
