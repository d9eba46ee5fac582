import AnalyticsCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Assembles the archiver: the PostgreSQL pool and Redis clients (started first, stopped last), the
/// admin listener and the consumer; and the one-shot commands (migrate, retention, import, rebuild).
public struct ArchiverApplication: Sendable {
    public let configuration: AnalyticsConfiguration
    public let logger: Logger
    public let registry: MetricsRegistry
    public let postgres: PostgresClient
    public let redisReader: RedisClient
    public let redisWriter: RedisClient
    public let partitions: PartitionManager
    public let metrics: ArchiverMetrics
    public let migrations: [Migration]
    /// Shared by the store and the retention pass (which deletes visitor rows).
    public let visitorCache = VisitorCache()

    public init(configuration: AnalyticsConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        var postgresLogger = logger
        postgresLogger.logLevel = max(logger.logLevel, .warning)
        postgres = PostgresClient(configuration: configuration.database.clientConfiguration(), backgroundLogger: postgresLogger)
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

    /// What the serving archiver's start is logged with.
    public var startMetadata: Logger.Metadata {
        [
            "consumer": "\(configuration.consumerName)", "admin": "\(configuration.httpHost):\(configuration.adminPort)",
            "redis": "\(configuration.redis.redacted)", "database": "\(configuration.database.redacted)",
        ]
    }

    public var migrator: MigrationRunner {
        MigrationRunner(migrations: migrations, client: postgres, logger: logger)
    }

    public var retentionPass: RetentionPass {
        RetentionPass(
            settings: .init(
                rawRetentionDays: configuration.rawRetentionDays, archiveRetentionDays: configuration.archiveRetentionDays,
                archiveDirectory: URL(fileURLWithPath: configuration.archiveDirectory)),
            client: postgres, redis: redisWriter, keyspace: configuration.keyspace, partitions: partitions, metrics: metrics,
            visitors: visitorCache, logger: logger)
    }

    public var retentionScheduler: RetentionScheduler {
        RetentionScheduler(pass: retentionPass, client: postgres, metrics: metrics, logger: logger)
    }

    public var store: EventStore {
        EventStore(client: postgres, partitions: partitions, visitors: visitorCache, logger: logger)
    }

    /// The consumer of the `archiver` group, with the daily retention pass.
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

    /// The long-running archiver: migrations at start, then the consumer.
    public func services() -> [any Service] {
        let consumer = consumer()
        let admin = AdminServer.make(configuration, registry: registry, logger: logger) { consumer.liveness.problem() }
        return [
            postgres, redisReader, redisWriter, admin,
            MigratingService(migrator: migrator, then: consumer, liveness: consumer.liveness, logger: logger),
            consumer.liveness.stoppingAnnouncer,
        ]
    }

    /// Runs `body` with the clients running, for the one-shot commands.
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
