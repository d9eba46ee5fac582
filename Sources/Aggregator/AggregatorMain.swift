import AggregatorKit
import AnalyticsCore
import Logging
import ServiceLifecycle
import ServiceSupport
import UnixSignals

/// `analytics-aggregator`: the `aggregator` consumer group, keeping the Redis aggregates exact.
@main
struct AggregatorMain {
    static func main() async throws {
        let (configuration, positional, logger) = ServiceBootstrap.load(process: "analytics-aggregator")
        guard positional.isEmpty else {
            ServiceBootstrap.fail("analytics-aggregator", "unexpected arguments \(positional); see --help")
        }
        AllocatorTuning.forLargeBatches()
        let aggregator = AggregatorApplication(configuration: configuration, logger: logger)
        logger.info(
            "aggregator starting",
            metadata: [
                "consumer": "\(configuration.consumerName)", "admin": "\(configuration.httpHost):\(configuration.adminPort)",
                "redis": "\(configuration.redisURL.redacted)",
            ])
        await ServiceBootstrap.run(aggregator.services, logger: logger)
    }
}
