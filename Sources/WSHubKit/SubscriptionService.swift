import AnalyticsCore
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// The Redis pub/sub subscription as a service: started after the Redis client, stopped before it.
struct SubscriptionService: Service {
    let configuration: RedisSubscriber.Configuration
    let hub: LiveHub
    let logger: Logger

    func run() async throws {
        let subscriber = RedisSubscriber(configuration: configuration, logger: logger) { [hub] event in hub.receive(event) }
        try? await gracefulShutdown()
        await subscriber.shutdown()
    }
}
