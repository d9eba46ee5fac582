import AnalyticsCore
import Logging
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Assembles the aggregator process: two Redis clients (blocking reads apart), the consumer and
/// the admin listener, in start order (clients first, stopped last).
public struct AggregatorApplication {
    public let services: [any Service]
    public let consumer: AggregatorConsumer
    public let registry: MetricsRegistry

    public init(configuration: AnalyticsConfiguration, logger: Logger) {
        let registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        self.registry = registry
        let reader = RedisClient(
            configuration, name: "aggregator-read", logger: logger,
            metrics: PrometheusRedisClientMetrics(registry: registry, client: "aggregator-read")
        ) {
            // Above the BLOCK time, so the client never gives up on a read Redis still holds open.
            $0.commandTimeout = .seconds(6)
            $0.queueTimeout = .seconds(10)
        }
        let writer = RedisClient(
            configuration, name: "aggregator-write", logger: logger,
            metrics: PrometheusRedisClientMetrics(registry: registry, client: "aggregator-write")
        ) {
            $0.commandTimeout = .seconds(10)
            $0.queueTimeout = .seconds(10)
        }
        let settings = AggregatorConsumer.Settings(
            consumerName: configuration.consumerName, keyspace: configuration.keyspace,
            activeWindowSeconds: configuration.activeWindowSeconds)
        let consumer = AggregatorConsumer(
            settings: settings, reader: reader, writer: writer, metrics: AggregatorMetrics(registry: registry),
            health: StreamHealth(redis: writer, keyspace: configuration.keyspace, registry: registry), logger: logger)
        self.consumer = consumer
        let admin = AdminServer.make(
            host: configuration.httpHost, port: configuration.adminPort, registry: registry, logger: logger
        ) {
            consumer.liveness.problem()
        }
        services = [reader, writer, admin, consumer, consumer.liveness.stoppingAnnouncer]
    }
}
