import Prometheus
import RedisClient
import Synchronization

/// Round trips, pipeline sizes and connection state of the process's Redis clients, as the
/// `RedisClientMetrics` the Redis client reports to. One instance per client, labelled with its name.
public final class PrometheusRedisClientMetrics: RedisClientMetrics {
    private let roundTrip: DurationHistogram
    private let pipelineSize: ValueHistogram
    private let connected: Gauge

    /// - Parameter client: the `client` label: the client's name (`aggregator-read`, …).
    public init(registry: MetricsRegistry, client: String) {
        roundTrip = registry.prometheus.makeDurationHistogram(
            name: "analytics_redis_round_trip_seconds", labels: [("client", client)], buckets: MetricsRegistry.latencyBuckets,
            help: "Time from writing a pipeline to Redis to reading its last reply")
        pipelineSize = registry.prometheus.makeValueHistogram(
            name: "analytics_redis_pipeline_commands", labels: [("client", client)], buckets: MetricsRegistry.batchSizeBuckets,
            help: "Commands written to Redis in one round trip (group commit)")
        connected = registry.prometheus.makeGauge(
            name: "analytics_redis_connected", labels: [("client", client)],
            help: "1 while the Redis connection of this client is up")
    }

    /// One pipeline of `commands` written and all its replies read in `duration`.
    public func recordRoundTrip(commands: Int, duration: Duration) {
        roundTrip.record(duration)
        pipelineSize.record(Double(commands))
    }

    /// The connection went up (true) or down (false).
    public func setConnected(_ value: Bool) {
        connected.set(to: value ? 1.0 : 0.0)
    }
}
