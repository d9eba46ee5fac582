import AnalyticsCore
import GatewayKit
import Logging
import ServiceLifecycle
import ServiceSupport
import UnixSignals

/// `analytics-gateway`: the HTTP API, the tracking middleware and the publisher to the stream.
@main
struct GatewayMain {
    static func main() async throws {
        let (configuration, positional, logger) = ServiceBootstrap.load(process: "analytics-gateway")
        guard positional.isEmpty else {
            ServiceBootstrap.fail("analytics-gateway", "unexpected arguments \(positional); see --help")
        }
        let gateway = GatewayApplication(configuration: configuration, logger: logger)
        logger.info(
            "gateway starting",
            metadata: [
                "listen": "\(configuration.httpHost):\(configuration.httpPort)", "redis": "\(configuration.redisURL.redacted)",
            ])
        await ServiceBootstrap.run(gateway.services, logger: logger)
    }
}
