import AnalyticsCore
import Foundation
import Logging
import PostgresNIO
import Prometheus
import RedisClient
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// The `archiver` consumer group's worker: every accepted event into PostgreSQL exactly once.
/// Batches are bounded in size and age; each is stored in one transaction and acknowledged only
/// after the commit, so a crash at any point re-delivers what was not committed and `ON CONFLICT DO
/// NOTHING` makes storing it again harmless. While PostgreSQL is down it holds its batch and retries
/// with backoff; an entry that can never be stored goes to the dead-letter stream.
public final class ArchiverConsumer: Service, Sendable {
    public static let group = "archiver"

    public struct Settings: Sendable {
        public var consumerName: String
        public var keyspace: RedisKeyspace
        public var batchSize = 5000
        public var maximumBatchAge: Duration = .milliseconds(200)
        public var block: Duration = .seconds(1)
        public var claimIdle: Duration = .seconds(30)
        public var claimInterval: Duration = .seconds(5)
        public var housekeepingInterval: Duration = .seconds(2)
        public var trimInterval: Duration = .seconds(10)
        /// Batches stored at once, each in its own transaction on its own connection: PostgreSQL
        /// then uses more than one core while this process reads the next batch (3 measured
        /// 0.84× `psql \copy` against 0.76–0.80× with 2, bench/archiver.sh).
        public var concurrentWrites = 3

        public init(consumerName: String, keyspace: RedisKeyspace) {
            self.consumerName = consumerName
            self.keyspace = keyspace
        }
    }

    let settings: Settings
    let stream: StreamGroupReader
    let store: EventStore
    let partitions: PartitionManager
    let trimmer: StreamTrimmer
    let health: StreamHealth
    let metrics: ArchiverMetrics
    let retention: RetentionScheduler?
    let logger: Logger
    /// Proof of life for `/healthz` and the watchdog: every loop iteration, and every retry while
    /// PostgreSQL is down (waiting for it is the work then).
    public let liveness: Liveness
    private let stopping = Mutex(false)

    public init(
        settings: Settings, reader: RedisClient, writer: RedisClient, store: EventStore, partitions: PartitionManager,
        health: StreamHealth, metrics: ArchiverMetrics, retention: RetentionScheduler?, logger: Logger,
        liveness: Liveness = Liveness()
    ) {
        self.liveness = liveness
        self.settings = settings
        self.stream = StreamGroupReader(
            group: Self.group, consumer: settings.consumerName, keyspace: settings.keyspace, reader: reader, writer: writer,
            batchSize: settings.batchSize, claimIdle: settings.claimIdle)
        self.store = store
        self.partitions = partitions
        self.trimmer = StreamTrimmer(redis: writer, keyspace: settings.keyspace)
        self.health = health
        self.metrics = metrics
        self.retention = retention
        self.logger = logger
    }

    private var isStopping: Bool { stopping.withLock { $0 } || Task.isCancelled }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            var needsRecovery = true
            var lastClaim = ContinuousClock.now - settings.claimInterval
            var lastHousekeeping = ContinuousClock.now - settings.housekeepingInterval
            var lastTrim = ContinuousClock.now
            var partitionsReadyFor: CivilDate?
            var backoff: Duration = .milliseconds(100)
            var writes: [Task<Void, any Error>] = []
            func finishWrites() async throws {
                defer { writes.removeAll() }
                for write in writes { try await write.value }
            }
            while !isStopping {
                do {
                    let today = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date
                    if partitionsReadyFor != today {
                        try await partitions.createAhead()
                        partitionsReadyFor = today
                    }
                    if needsRecovery {
                        try await finishWrites()
                        try await stream.ensureGroup()
                        try await recoverPending()
                        needsRecovery = false
                    }
                    if ContinuousClock.now - lastClaim >= settings.claimInterval {
                        // Our own batches in flight must not look abandoned (a long PostgreSQL outage).
                        try await finishWrites()
                        let claimed = try await stream.claimAbandoned { try await self.persist($0) }
                        if claimed > 0 { logger.info("claimed abandoned entries", metadata: ["entries": "\(claimed)"]) }
                        lastClaim = ContinuousClock.now
                    }
                    if ContinuousClock.now - lastHousekeeping >= settings.housekeepingInterval {
                        try await housekeeping()
                        lastHousekeeping = ContinuousClock.now
                    }
                    if ContinuousClock.now - lastTrim >= settings.trimInterval {
                        let removed = try await trimmer.trim()
                        metrics.trimmed.increment(by: Int64(removed))
                        lastTrim = ContinuousClock.now
                    }
                    let batch = try await collectBatch()
                    if !batch.isEmpty {
                        if writes.count >= settings.concurrentWrites {
                            try await writes.removeFirst().value
                        }
                        writes.append(Task { try await self.persist(batch) })
                    }
                    backoff = .milliseconds(100)
                    liveness.ready(status: "archiving")
                    liveness.progressed()
                } catch {
                    // What failed is in our pending list, which the recovery re-reads once the
                    // writes in flight are over.
                    for write in writes { _ = try? await write.value }
                    writes.removeAll()
                    logger.warning("archiver loop failed; retrying", metadata: ["error": "\(error)"])
                    // Entries delivered by a read that failed half-way are in our pending list.
                    needsRecovery = true
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
            // Batches in flight are committed and acknowledged before stopping (or left pending).
            for write in writes { _ = try? await write.value }
            logger.info("archiver stopped", metadata: ["consumer": "\(settings.consumerName)"])
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
        }
    }

    /// Up to `batchSize` entries, waiting at most `maximumBatchAge` after the first one.
    func collectBatch() async throws -> [RedisStreamEntry] {
        var batch = try await stream.read(block: settings.block)
        guard !batch.isEmpty else { return [] }
        let deadline = ContinuousClock.now + settings.maximumBatchAge
        while batch.count < settings.batchSize, !isStopping {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .milliseconds(1) else { break }
            let more = try await stream.read(block: remaining, count: settings.batchSize - batch.count)
            if more.isEmpty { break }
            batch += more
        }
        return batch
    }

    func recoverPending() async throws {
        var recovered = 0
        while !isStopping {
            let entries = try await stream.read(pending: true)
            if entries.isEmpty { break }
            try await persist(entries)
            recovered += entries.count
        }
        if recovered > 0 { logger.info("recovered pending entries", metadata: ["entries": "\(recovered)"]) }
    }

    /// Stores the entries (retrying while PostgreSQL is unavailable), dead-letters what can never be
    /// stored, then acknowledges all of them.
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

        var backoff: Duration = .milliseconds(100)
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
                if isStopping { throw error }
                logger.warning("PostgreSQL unavailable; holding the batch and retrying", metadata: [
                    "error": "\(String(reflecting: error).prefix(300))", "events": "\(events.count)", "retry_in": "\(backoff)",
                ])
                liveness.progressed()
                // Keep proving life to the gateway while waiting: the events are safe in the stream.
                _ = try? await stream.writer.pipeline([stream.aliveCommand])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        if !dead.isEmpty {
            var commands: [RedisCommand] = []
            for entry in dead {
                logger.error("stream entry sent to the dead-letter stream", metadata: ["entry": "\(entry.id)", "reason": "\(entry.reason)"])
                commands.append(RedisCommand(
                    "XADD", settings.keyspace.deadLetters, "MAXLEN", "~", "100000", "*", "entry", entry.id, "group", Self.group,
                    "reason", entry.reason))
            }
            let replies = try await stream.writer.pipeline(commands)
            if let message = replies.compactMap(\.errorMessage).first { throw RedisError.server(message) }
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

    func housekeeping() async throws {
        let replies = try await stream.writer.pipeline([stream.aliveCommand])
        if let message = replies.compactMap(\.errorMessage).first { throw RedisError.server(message) }
        try await health.refresh()
        if let retention {
            // The daily pass runs beside the consumer loop; it is exclusive across archivers.
            retention.runIfDue()
        }
    }
}
