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

    let allowedOrigins: [String]
    let hub: LiveHub

    func refusal(origin: String?) -> Refusal? {
        if !allowedOrigins.isEmpty {
            guard let origin, allowedOrigins.contains(origin.lowercased()) else { return .origin }
        }
        return hub.clientCount >= hub.settings.maximumConnections ? .full : nil
    }
}
