import Prometheus
import RedisClient
import Synchronization

/// The Prometheus registry of one process, with the business-metric namespace. Every metric is
/// registered here with its HELP text (`promtool check metrics` insists), and label values come
/// from bounded sets.
public final class MetricsRegistry: Sendable {
    /// The swift-prometheus registry the metrics are made in. Operational metrics are named
    /// `analytics_…`; business metrics go through ``business(_:)``.
    public let prometheus = PrometheusCollectorRegistry()
    /// `ANALYTICS_METRICS_NAMESPACE`: prefix of the business metrics (`maicivy_…`).
    public let namespace: String

    /// - Parameter namespace: `ANALYTICS_METRICS_NAMESPACE`.
    public init(namespace: String) {
        self.namespace = namespace
    }

    /// A business metric name: `<namespace>_<name>`.
    public func business(_ name: String) -> String { "\(namespace)_\(name)" }

    /// Every metric in the Prometheus text format, as `GET /metrics` answers it.
    public func exposition() -> [UInt8] {
        prometheus.emitToBuffer()
    }

    /// Duration buckets from 100 µs to 10 s, shared by the latency histograms so that they can be
    /// compared.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Count buckets from 1 to 10,000, for batch and pipeline sizes.
    public static let batchSizeBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
}
