import AnalyticsCore
import Foundation
import Logging
import PostgresNIO
import Prometheus
import RedisClient
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// What the `archiver` consumer group does with a batch: stores every event in PostgreSQL exactly
/// once. A batch is stored in one transaction (``EventStore``) and acknowledged only after the
/// commit, so a crash at any point re-delivers what was not committed, and `ON CONFLICT DO NOTHING`
/// makes storing it again harmless. While PostgreSQL is down it holds its batch and retries with
/// backoff; an entry that can never be stored goes to the dead-letter stream. Its housekeeping
/// proves the group alive, refreshes the stream gauges, trims the stream (every 10 s, with
/// ``StreamTrimmer``), creates the coming days' partitions (``PartitionManager``) and starts the
/// daily retention pass when it is due (``RetentionScheduler``).
///
/// The consumer loop around it (recovery of pending entries, claims, reading) is `StreamConsumer`
/// from ServiceSupport; ``ArchiverApplication/consumer()`` puts the two together.
public final class ArchivingProcessor: StreamBatchProcessor {
    /// How the archiver's consumer reads: batches of up to 10,000 entries, gathered for at most
    /// 200 ms after the first, and up to 3 batches stored at once, each in its own transaction on
    /// its own connection, so PostgreSQL uses more than one core while the next batch is read. After
    /// a failure the consumer backs off from 100 ms up to 5 s.
    public static let consumerSettings: StreamConsumer.Settings = {
        var settings = StreamConsumer.Settings(batchSize: 10000, readyStatus: "archiving")
        settings.gathering = .milliseconds(200)
        settings.batchesInFlight = 3
        settings.timing.backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        return settings
    }()

    let stream: StreamGroupReader
    let store: EventStore
    let partitions: PartitionManager
    let trimmer: StreamTrimmer
    let health: StreamHealth
    let metrics: ArchiverMetrics
    let retention: RetentionScheduler?
    /// Kept proving life while PostgreSQL is down: waiting for it is the work then.
    let liveness: Liveness
    let logger: Logger
    /// The day whose partitions (and the next week's) were last created ahead.
    private let partitionsReadyFor = Mutex<CivilDate?>(nil)
    /// How often the stream is trimmed, and when it last was (the first trim comes one interval
    /// after the start).
    static let trimInterval: Duration = .seconds(10)
    private let lastTrim = Mutex(ContinuousClock.now)

    /// Creates the processor; it trims the stream through the group's Redis writer.
    /// - Parameters:
    ///   - stream: the `archiver` group as this consumer reads it (any other group is a programming
    ///     error).
    ///   - store: where the events go.
    ///   - partitions: the process's shared partitions, created ahead from the housekeeping.
    ///   - health: the stream gauges, refreshed from the housekeeping.
    ///   - metrics: the archiver's metrics.
    ///   - retention: the daily pass, started from the housekeeping; nil: none.
    ///   - liveness: the consumer's, proven while a batch waits for PostgreSQL.
    ///   - logger: for outages and dead letters.
    public init(
        stream: StreamGroupReader, store: EventStore, partitions: PartitionManager, health: StreamHealth, metrics: ArchiverMetrics,
        retention: RetentionScheduler?, liveness: Liveness, logger: Logger
    ) {
        precondition(stream.group == .archiver)
        self.stream = stream
        self.store = store
        self.partitions = partitions
        self.trimmer = StreamTrimmer(redis: stream.writer, keyspace: stream.keyspace)
        self.health = health
        self.metrics = metrics
        self.retention = retention
        self.liveness = liveness
        self.logger = logger
    }

    /// Stores and acknowledges a batch: see ``persist(_:)``.
    public func process(_ entries: [RedisStreamEntry]) async throws {
        try await persist(entries)
    }

    /// Stores the entries (retrying while PostgreSQL is unavailable, until the process stops),
    /// dead-letters what can never be stored, then acknowledges all of them.
    ///
    /// An entry trimmed while pending, or that does not decode, is dead-lettered without reaching
    /// PostgreSQL. A batch PostgreSQL refuses for its data (SQLSTATE class 22 or 23) is split in
    /// halves until the offending events are isolated; only those are dead-lettered.
    /// - Throws: when the process is stopping while PostgreSQL is still unavailable, or Redis fails
    ///   to take the dead letters or the acknowledgements. The entries then stay pending and are
    ///   stored again, harmlessly, on recovery.
    public func persist(_ entries: [RedisStreamEntry]) async throws {
        let start = ContinuousClock.now
        var events: [AnalyticsEvent] = []
        var entryOf: [UUID: String] = [:]
        var streamIDs: [String] = []
        var dead: [(id: String, reason: String)] = []
        events.reserveCapacity(entries.count)
        for entry in entries {
            streamIDs.append(entry.id)
            guard let fields = entry.fields else {
                dead.append((entry.id, "entry trimmed from the stream while pending"))
                continue
            }
            do {
                let event = try StreamEntryCodec.decode(fields)
                events.append(event)
                entryOf[event.id] = entry.id
            } catch {
                dead.append((entry.id, "undecodable: \(error)"))
            }
        }

        var backoff = Self.consumerSettings.timing.backoff
        while true {
            do {
                let outcome = try await liveness.whileWaiting { try await storeIsolatingPoison(events) }
                metrics.postgresUp.set(to: 1)
                metrics.stored.increment(by: Int64(outcome.inserted))
                metrics.duplicates.increment(by: Int64(events.count - outcome.inserted - outcome.poison.count))
                for (event, reason) in outcome.poison {
                    dead.append((entryOf[event.id] ?? "?", "refused by PostgreSQL: \(reason)"))
                }
                break
            } catch {
                metrics.postgresUp.set(to: 0)
                metrics.postgresErrors.increment()
                if Task.isShuttingDownGracefully || Task.isCancelled { throw error }
                let pause = backoff.next()
                logger.warning(
                    "PostgreSQL unavailable; holding the batch and retrying",
                    metadata: [
                        "error": "\(String(reflecting: error).prefix(300))", "events": "\(events.count)", "retry_in": "\(pause)",
                    ])
                liveness.progressed()
                // Keep proving life to the gateway while waiting: the events are safe in the stream.
                _ = try? await stream.writer.pipeline([stream.aliveCommand])
                try? await Task.sleep(for: pause)
            }
        }
        if !dead.isEmpty {
            var commands: [RedisCommand] = []
            for entry in dead {
                logger.error(
                    "stream entry sent to the dead-letter stream", metadata: ["entry": "\(entry.id)", "reason": "\(entry.reason)"])
                commands.append(
                    RedisCommand(
                        "XADD", stream.keyspace.deadLetters, "MAXLEN", "~", "100000", "*", "entry", entry.id, "group", stream.group.name,
                        "reason", entry.reason))
            }
            try await stream.writer.checkedPipeline(commands)
            metrics.deadLetters.increment(by: Int64(dead.count))
        }
        try await stream.acknowledge(streamIDs)
        metrics.batchSize.record(Double(entries.count))
        metrics.batchDuration.record(ContinuousClock.now - start)
    }

    /// Stores the events; a batch refused for its data is split in halves until the offending
    /// events are isolated (and returned), so one bad entry never blocks the group.
    func storeIsolatingPoison(_ events: [AnalyticsEvent]) async throws -> (inserted: Int, poison: [(AnalyticsEvent, String)]) {
        guard !events.isEmpty else { return (0, []) }
        do {
            return (try await store.store(events), [])
        } catch {
            guard let refusal = Self.dataError(error) else { throw error }
            if events.count == 1 {
                return (0, [(events[0], refusal.serverInfo?[.message] ?? "\(refusal)")])
            }
            let middle = events.count / 2
            let first = try await storeIsolatingPoison(Array(events[..<middle]))
            let second = try await storeIsolatingPoison(Array(events[middle...]))
            return (first.inserted + second.inserted, first.poison + second.poison)
        }
    }

    /// An error about the rows themselves (class 22 data exception, 23 integrity violation), which
    /// retrying cannot cure — unlike connection failures. Transactions wrap the server's error.
    static func dataError(_ error: any Error) -> PSQLError? {
        let psql = (error as? PSQLError) ?? ((error as? PostgresTransactionError)?.closureError as? PSQLError)
        guard let psql, let state = psql.serverInfo?[.sqlState], state.hasPrefix("22") || state.hasPrefix("23") else { return nil }
        return psql
    }

    /// Proves the group alive (for the gateway's readiness), refreshes the stream gauges, trims the
    /// stream every 10 s, creates today's and the next week's partitions once a
    /// day, and starts the retention pass when it is due (it runs beside the consumer loop).
    /// - Throws: Redis's error, so that the consumer backs off and recovers. A failure to create
    ///   partitions is only logged: a batch creates the partitions it needs itself.
    public func housekeeping() async throws {
        try await stream.writer.checkedPipeline([stream.aliveCommand])
        try await health.refresh()
        if ContinuousClock.now - lastTrim.withLock({ $0 }) >= Self.trimInterval {
            metrics.trimmed.increment(by: Int64(try await trimmer.trim()))
            lastTrim.withLock { $0 = .now }
        }
        await dailyUpkeep()
        // The daily pass runs beside the consumer loop; it is exclusive across archivers.
        retention?.runIfDue()
    }

    /// Today's partition and the next week's, and the weeks that are over closed in the rollups,
    /// once a day. A failure is only logged and retried at the next housekeeping: a batch creates
    /// the partitions it needs itself, and queries read a week that is not closed from its days.
    private func dailyUpkeep() async {
        let today = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date
        guard partitionsReadyFor.withLock({ $0 }) != today else { return }
        do {
            try await partitions.createAhead()
            let closed = try await store.closeWeeks()
            if closed > 0 { logger.info("closed weeks in the rollups", metadata: ["weeks": "\(closed)"]) }
            partitionsReadyFor.withLock { $0 = today }
        } catch {
            logger.warning(
                "could not create the coming days' partitions or close the past weeks; retrying",
                metadata: ["error": "\(String(reflecting: error).prefix(300))"])
        }
    }
}
