import AnalyticsCore
import ArchiverKit
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceSupport
import TestSupport

/// A throwaway PostgreSQL (migrated) and Redis, with the archiver's parts wired to them.
final class ArchiverHarness: Sendable {
    let postgres: PostgresServer
    let redisServer: RedisServer
    let redis: RedisClient
    let client: PostgresClient
    let clientTask: Task<Void, Never>
    let keyspace = RedisKeyspace()
    let partitions: PartitionManager
    let store: EventStore
    let metrics: ArchiverMetrics
    let archiveDirectory: TemporaryDirectory
    let logger: Logger
    let ids = UUIDv7Generator()

    init(postgresSettings: [String: String] = [:]) async throws {
        async let pg = PostgresServer(settings: postgresSettings)
        async let rs = RedisServer()
        postgres = try await pg
        redisServer = try await rs
        redis = redisServer.client(name: "archiver-test")
        var logger = Logger(label: "archiver-test")
        logger.logLevel = .warning
        self.logger = logger
        var configuration = try PostgresEndpoint(url: postgres.url).clientConfiguration()
        configuration.options.maximumConnections = 4
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        clientTask = Task { await client.run() }
        partitions = PartitionManager(client: client, logger: logger)
        store = EventStore(client: client, partitions: partitions, logger: logger)
        metrics = ArchiverMetrics(registry: MetricsRegistry(namespace: "maicivy"))
        archiveDirectory = TemporaryDirectory("archives")
        try await migrator.migrateUp()
    }

    var migrator: MigrationRunner {
        get throws {
            MigrationRunner(
                migrations: try MigrationRunner.load(directory: Self.migrationsDirectory), client: client, logger: logger)
        }
    }

    static var migrationsDirectory: URL {
        // Tests/ArchiverKitTests/ArchiverHarness.swift → the checkout's migrations/.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations")
    }

    func retentionPass(rawDays: Int = 90, archiveDays: Int = 365) -> RetentionPass {
        RetentionPass(
            settings: .init(rawRetentionDays: rawDays, archiveRetentionDays: archiveDays, archiveDirectory: archiveDirectory.url),
            client: client, redis: redis, keyspace: keyspace, partitions: partitions, metrics: metrics, logger: logger)
    }

    /// The archiver's consumer loop and its processor, as `ArchiverApplication` assembles them.
    func consumer(name: String = "archiver-test") -> StreamConsumer {
        let stream = StreamGroupReader(group: .archiver, consumer: name, keyspace: keyspace, reader: redis, writer: redis)
        let registry = MetricsRegistry(namespace: "m")
        let liveness = Liveness()
        let processor = ArchivingProcessor(
            stream: stream, store: store, partitions: partitions,
            health: StreamHealth(redis: redis, keyspace: keyspace, registry: registry),
            metrics: metrics, retention: nil, liveness: liveness, logger: logger)
        return StreamConsumer(
            stream: stream, processor: processor, settings: ArchivingProcessor.consumerSettings, registry: registry, liveness: liveness,
            logger: logger)
    }

    /// `count` events spread over `visitors` visitors at `ms` (+ i ms each).
    /// A store of its own, as another process would have (nothing known of the visitors).
    func freshStore() -> EventStore { EventStore(client: client, partitions: partitions, logger: logger) }

    func events(
        _ count: Int, at ms: Int64 = EpochClock.milliseconds(), visitors: Int = 10,
        type: (Int) -> (String, String) = { _ in ("click", "{}") }
    ) -> [AnalyticsEvent] {
        let people = (0..<visitors).map { _ in UUID() }
        return (0..<count).map { i in
            let (eventType, data) = type(i)
            return AnalyticsEvent(
                id: ids.next(nowMilliseconds: ms + Int64(i)), visitorID: people[i % visitors], eventType: eventType,
                eventData: data, pageURL: "https://site.test/p\(i % 3)", referrer: i % 2 == 0 ? nil : "https://ref.test/",
                createdAt: ms + Int64(i))
        }
    }

    func publish(_ events: [AnalyticsEvent]) async throws {
        var commands: [RedisCommand] = []
        for event in events {
            var command = RedisCommand("XADD", keyspace.stream, "*")
            command.append(contentsOf: StreamEntryCodec.fields(of: event))
            commands.append(command)
        }
        for chunk in stride(from: 0, to: commands.count, by: 1000) {
            _ = try await redis.pipeline(Array(commands[chunk..<min(chunk + 1000, commands.count)]))
        }
    }

    func count(_ sql: String = "SELECT count(*) FROM analytics_events") throws -> Int {
        Int(try postgres.psql(sql)) ?? -1
    }

    static func daysAgo(_ days: Int, hour: Int = 12) -> Int64 {
        let today = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date.daysSinceEpoch
        return Int64(today - days) * 86_400_000 + Int64(hour) * 3_600_000
    }

    func shutdown() async {
        clientTask.cancel()
        await redis.shutdown()
    }
}
