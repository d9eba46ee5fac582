import AnalyticsCore
import Logging
import ServiceLifecycle
import ServiceSupport
import UnixSignals
import WSHubKit

/// `analytics-wshub`: live metrics pushed to dashboards over WebSocket; run as several replicas.
@main
struct WSHubMain {
    static func main() async throws {
        let (configuration, positional, logger) = ServiceBootstrap.load(process: "analytics-wshub")
        guard positional.isEmpty else {
            ServiceBootstrap.fail("analytics-wshub", "unexpected arguments \(positional); see --help")
        }
        let hub = WSHubApplication(configuration: configuration, logger: logger)
        logger.info(
            "hub starting",
            metadata: [
                "listen": "\(configuration.wsHost):\(configuration.wsPort)", "redis": "\(configuration.redisURL.redacted)",
                "max_connections": "\(configuration.wsMaxConnections)",
            ])
        await ServiceBootstrap.run(hub.services, logger: logger)
    }
}
