import Prometheus
import RedisClient
import Synchronization

/// The Prometheus registry of one process, with the business-metric namespace. Every metric is
/// registered here with its HELP text (`promtool check metrics` insists), and label values come
/// from bounded sets.
public final class MetricsRegistry: Sendable {
    public let prometheus = PrometheusCollectorRegistry()
    /// `ANALYTICS_METRICS_NAMESPACE`: prefix of the business metrics (`maicivy_…`).
    public let namespace: String

    public init(namespace: String) {
        self.namespace = namespace
    }

    /// A business metric name: `<namespace>_<name>`.
    public func business(_ name: String) -> String { "\(namespace)_\(name)" }

    public func exposition() -> [UInt8] {
        prometheus.emitToBuffer()
    }

    /// Duration buckets from 100 µs to 10 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    public static let batchSizeBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
}

/// A label whose values come from the traffic (event types, themes): the first `capacity` distinct
/// values keep their own label, later ones are folded into `other`, so a client cannot grow the
/// number of series without bound.
public final class BoundedLabel: Sendable {
    public static let other = "other"
    private let capacity: Int
    private let known: Mutex<Set<String>>

    public init(capacity: Int, preset: [String] = []) {
        self.capacity = capacity
        self.known = Mutex(Set(preset))
    }

    public func value(for raw: String) -> String {
        known.withLock { known in
            if known.contains(raw) { return raw }
            guard known.count < capacity else { return Self.other }
            known.insert(raw)
            return raw
        }
    }
}

/// Round trips, pipeline sizes and connection state of the process's Redis clients.
public final class PrometheusRedisClientMetrics: RedisClientMetrics {
    private let roundTrip: DurationHistogram
    private let pipelineSize: ValueHistogram
    private let connected: Gauge

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

    public func recordRoundTrip(commands: Int, duration: Duration) {
        roundTrip.record(duration)
        pipelineSize.record(Double(commands))
    }

    public func setConnected(_ value: Bool) {
        connected.set(to: value ? 1.0 : 0.0)
    }
}
