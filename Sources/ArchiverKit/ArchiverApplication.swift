import AnalyticsCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Assembles the archiver: the PostgreSQL pool and Redis clients (started first, stopped last), the
/// admin listener and the consumer; and the one-shot commands (migrate, retention, import, rebuild).
///
/// Each ``ArchiverCommand`` subcommand builds one, then either serves ``services()`` or runs its work
/// inside ``withClients(_:)``. Like the aggregator it turns glibc's fast bins off (`AllocatorTuning`):
/// each batch frees thousands of small objects (stream entries, events, rollup keys) and then asks
/// for the large buffers of the next COPY.
public struct ArchiverApplication: Sendable {
    /// The configuration the process was started with.
    public let configuration: AnalyticsConfiguration
    /// The process's logger. PostgresNIO's own background logging is kept at `warning` or above.
    public let logger: Logger
    /// The Prometheus registry behind the admin listener's `/metrics`, under the configured namespace.
    public let registry: MetricsRegistry
    /// The PostgreSQL pool (at most 8 connections) shared by everything here. It connects only while
    /// it runs: as one of ``services()``, or inside ``withClients(_:)``.
    public let postgres: PostgresClient
    /// The Redis connection for the consumer's blocking stream reads, kept apart so that a read
    /// waiting for entries never delays a write.
    public let redisReader: RedisClient
    /// The Redis connection for everything else: acknowledgements, dead letters, proof of life,
    /// trimming, and the HyperLogLogs of the retention pass and the rebuild.
    public let redisWriter: RedisClient
    /// The one ``PartitionManager`` of the process, so that the store, the retention pass and the
    /// rebuild share what it knows of the existing days.
    public let partitions: PartitionManager
    /// The archiver's metrics, registered in ``registry``.
    public let metrics: ArchiverMetrics
    /// The SQL migrations, loaded when the application is built.
    public let migrations: [Migration]
    /// The one ``VisitorCache`` of the process, shared by ``store`` and ``retentionPass``: the pass
    /// deletes visitor rows, and the store must then forget what it knew of them.
    public let visitorCache = VisitorCache()

    /// Builds the clients (not running yet) and loads the migrations.
    /// - Throws: ``ArchiverError`` when the migrations directory cannot be found or its files do not
    ///   pair up, or the file system's error reading a migration.
    public init(configuration: AnalyticsConfiguration, logger: Logger) throws {
        AllocatorTuning.forLargeBatches()
        self.configuration = configuration
        self.logger = logger
        registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        var postgresLogger = logger
        postgresLogger.logLevel = max(logger.logLevel, .warning)
        postgres = PostgresClient(
            configuration: configuration.database.clientConfiguration(timeouts: .init(configuration)), backgroundLogger: postgresLogger)
        redisReader = .blockingReader(configuration, name: "archiver-read", registry: registry, logger: logger)
        redisWriter = RedisClient(configuration, name: "archiver-write", registry: registry, logger: logger) {
            $0.commandTimeout = .seconds(10)
            $0.queueTimeout = .seconds(30)
        }
        partitions = PartitionManager(client: postgres, logger: logger)
        metrics = ArchiverMetrics(registry: registry)
        migrations = try MigrationRunner.load(
            directory: MigrationRunner.locateDirectory(configured: configuration.migrationsDirectory))
    }

    /// What the serving archiver's start is logged with (the URLs with their credentials redacted).
    public var startMetadata: Logger.Metadata {
        [
            "consumer": "\(configuration.consumerName)", "admin": "\(configuration.adminHost):\(configuration.adminPort)",
            "redis": "\(configuration.redis.redacted)", "database": "\(configuration.database.redacted)",
        ]
    }

    /// A ``MigrationRunner`` of ``migrations`` on ``postgres``.
    public var migrator: MigrationRunner {
        MigrationRunner(migrations: migrations, client: postgres, logger: logger)
    }

    /// The retention pass with the configured retention days and archive directory.
    public var retentionPass: RetentionPass {
        RetentionPass(
            settings: .init(
                rawRetentionDays: configuration.rawRetentionDays, archiveRetentionDays: configuration.archiveRetentionDays,
                archiveDirectory: URL(fileURLWithPath: configuration.archiveDirectory)),
            client: postgres, redis: redisWriter, keyspace: configuration.keyspace, partitions: partitions, metrics: metrics,
            visitors: visitorCache, logger: logger)
    }

    /// A scheduler of ``retentionPass``. Each access makes a new one, with its own memory of the last
    /// completed day: keep the one you start passes with.
    public var retentionScheduler: RetentionScheduler {
        RetentionScheduler(pass: retentionPass, client: postgres, metrics: metrics, logger: logger)
    }

    /// An ``EventStore`` on the shared pool, ``partitions`` and ``visitorCache``, as the consumer and
    /// the import use it.
    public var store: EventStore {
        EventStore(client: postgres, partitions: partitions, visitors: visitorCache, logger: logger)
    }

    /// A new consumer of the `archiver` group (its ``ArchivingProcessor``), with the daily retention
    /// pass started from its housekeeping.
    public func consumer() -> StreamConsumer {
        let stream = StreamGroupReader(
            group: .archiver, consumer: configuration.consumerName, keyspace: configuration.keyspace, reader: redisReader,
            writer: redisWriter)
        let liveness = Liveness()
        let processor = ArchivingProcessor(
            stream: stream, store: store, partitions: partitions,
            health: StreamHealth(redis: redisWriter, keyspace: configuration.keyspace, registry: registry), metrics: metrics,
            retention: retentionScheduler, liveness: liveness, logger: logger)
        return StreamConsumer(
            stream: stream, processor: processor, settings: ArchivingProcessor.consumerSettings, registry: registry, liveness: liveness,
            logger: logger)
    }

    /// The long-running archiver's services, in start order: the pool and Redis clients, the admin
    /// listener (whose `/healthz` follows the consumer's liveness), then the pending migrations
    /// followed by the consumer (waiting for PostgreSQL rather than crash-looping), and last the
    /// service that sends `STOPPING=1` as soon as the drain begins.
    public func services() -> [any Service] {
        let consumer = consumer()
        let admin = AdminServer.make(configuration, registry: registry, logger: logger) { consumer.liveness.problem() }
        return [
            postgres, redisReader, redisWriter, admin,
            MigratingService(migrator: migrator, then: consumer, liveness: consumer.liveness, logger: logger),
            consumer.liveness.stoppingAnnouncer,
        ]
    }

    /// Runs `body` with the PostgreSQL pool running, for the one-shot commands, then shuts the Redis
    /// clients down.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public func withClients<R: Sendable>(_ body: @Sendable () async throws -> R) async throws -> R {
        let postgres = self.postgres
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            defer { group.cancelAll() }
            let result = try await body()
            await redisReader.shutdown()
            await redisWriter.shutdown()
            return result
        }
    }
}
