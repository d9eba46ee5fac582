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
