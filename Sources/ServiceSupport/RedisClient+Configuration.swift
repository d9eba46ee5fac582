import AnalyticsCore
import Logging
import RedisClient

extension RedisClient {
    /// A client of the configured Redis, named after its use (`CLIENT LIST` shows it), with its
    /// connection and request metrics in `registry`.
    /// - Parameters:
    ///   - name: the client's name, also the `client` label of its metrics; one per client of a process.
    ///   - registry: where its ``PrometheusRedisClientMetrics`` go; nil for none.
    ///   - adjust: changes to the client's defaults (timeouts).
    public convenience init(
        _ configuration: AnalyticsConfiguration, name: String, registry: MetricsRegistry?, logger: Logger,
        adjust: (inout RedisClient.Configuration) -> Void = { _ in }
    ) {
        var clientConfiguration = RedisClient.Configuration(endpoint: configuration.redis, name: name)
        adjust(&clientConfiguration)
        self.init(
            configuration: clientConfiguration, logger: logger,
            metrics: registry.map { PrometheusRedisClientMetrics(registry: $0, client: name) })
    }

    /// A client for a consumer's blocking stream reads: its socket timeout is above their `BLOCK`
    /// time, so it never gives up on a read that Redis still holds open (the entries Redis then
    /// delivered would sit unseen in the pending list until claimed).
    public static func blockingReader(
        _ configuration: AnalyticsConfiguration, name: String, registry: MetricsRegistry?, logger: Logger
    ) -> RedisClient {
        RedisClient(configuration, name: name, registry: registry, logger: logger) {
            $0.commandTimeout = .seconds(6)
            $0.queueTimeout = .seconds(10)
        }
    }
}
