import AnalyticsCore
import Hummingbird
import NIOCore

/// The request context of the gateway's router: Hummingbird's core storage plus the TCP peer's
/// address, from which the client address is derived (through trusted proxies), hashed and never
/// kept in clear.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The connection's peer: a proxy's address when the gateway sits behind one.
    public let remoteAddress: SocketAddress?

    /// The context of a request, from the connection it arrived on.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The largest body the router collects: that of an event (`EventRules.maximumBodyBytes`), so a
    /// larger body is refused before it is read whole.
    public var maxUploadSize: Int { EventRules.maximumBodyBytes }

    /// The peer as an `IPAddress` (nil for Unix sockets).
    public var peerAddress: IPAddress? {
        remoteAddress?.ipAddress.flatMap(IPAddress.init)
    }
}
