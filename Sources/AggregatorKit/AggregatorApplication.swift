import AnalyticsCore
import Logging
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Assembles the aggregator process: two Redis clients (blocking reads apart), the consumer of the
/// `aggregator` group and the admin listener, in start order (clients first, stopped last). It also
/// turns glibc's fast bins off (`AllocatorTuning`), as its batches free many small objects at once.
public struct AggregatorApplication: ServiceApplication {
    public static let processName = "analytics-aggregator"
    public static let summary = "Counts every accepted event exactly once into the Redis aggregates (the `aggregator` consumer group)."

    /// The Redis clients, the admin listener, the consumer and the `STOPPING=1` announcer.
    public let services: [any Service]
    /// The loop of the `aggregator` group, running an ``AggregationProcessor``.
    public let consumer: StreamConsumer
    /// The process's metrics, served on the admin listener.
    public let registry: MetricsRegistry
    public let startMetadata: Logger.Metadata

    /// Assembles the process from its configuration.
    public init(configuration: AnalyticsConfiguration, logger: Logger) {
        AllocatorTuning.forLargeBatches()
        let registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        self.registry = registry
        let stream = StreamGroupReader(
            group: .aggregator, consumer: configuration.consumerName, keyspace: configuration.keyspace,
            reader: .blockingReader(configuration, name: "aggregator-read", registry: registry, logger: logger),
            writer: RedisClient(configuration, name: "aggregator-write", registry: registry, logger: logger) {
                $0.commandTimeout = .seconds(10)
                $0.queueTimeout = .seconds(10)
            })
        let processor = AggregationProcessor(
            settings: .init(keyspace: configuration.keyspace, activeWindowSeconds: configuration.activeWindowSeconds), stream: stream,
            metrics: AggregatorMetrics(registry: registry, activeWindowSeconds: configuration.activeWindowSeconds),
            health: StreamHealth(redis: stream.writer, keyspace: configuration.keyspace, registry: registry), logger: logger)
        let consumer = StreamConsumer(
            stream: stream, processor: processor, settings: AggregationProcessor.consumerSettings, registry: registry, logger: logger)
        self.consumer = consumer
        let admin = AdminServer.make(configuration, registry: registry, logger: logger) { consumer.liveness.problem() }
        services = [stream.reader, stream.writer, admin, consumer, consumer.liveness.stoppingAnnouncer]
        startMetadata = [
            "consumer": "\(configuration.consumerName)", "admin": "\(configuration.adminHost):\(configuration.adminPort)",
            "redis": "\(configuration.redis.redacted)",
        ]
    }
}
