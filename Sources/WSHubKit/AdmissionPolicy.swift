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

/// Who may open a WebSocket: an allowed origin (when a list is configured), below the hub's cap and
/// below its address's cap (``ConnectionCounter``: an IPv4 address or an IPv6 /64).
struct AdmissionPolicy: Sendable {
    enum Refusal: Equatable { case origin, full, address }

    let allowedOrigins: OriginPolicy
    let hub: LiveHub
    let perAddress: ConnectionCounter

    func refusal(origin: String?) -> Refusal? {
        guard allowedOrigins.allows(origin) else { return .origin }
        return hub.clientCount >= hub.settings.maximumConnections ? .full : nil
    }

    /// Counts a WebSocket client of `channel`'s address until the connection closes; false when
    /// its address has as many as it may.
    func admitAddress(of channel: any Channel) -> Bool {
        let (key, allowed) = perAddress.open(channel.remoteAddress?.ipAddress.flatMap(IPAddress.init))
        if let key { channel.closeFuture.whenComplete { _ in perAddress.close(key) } }
        return allowed
    }
}
