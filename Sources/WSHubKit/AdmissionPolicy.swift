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

/// Who may open a WebSocket: an allowed origin (when a list is configured), below the cap.
struct AdmissionPolicy: Sendable {
    enum Refusal: Equatable { case origin, full }

    let allowedOrigins: OriginPolicy
    let hub: LiveHub

    func refusal(origin: String?) -> Refusal? {
        guard allowedOrigins.allows(origin) else { return .origin }
        return hub.clientCount >= hub.settings.maximumConnections ? .full : nil
    }
}
