import AnalyticsCore
import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's core storage plus the TCP peer's address, from
/// which the client address is derived (through trusted proxies), hashed and never kept in clear.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Event bodies are at most 16 KiB; anything larger is refused before it is read whole.
    public var maxUploadSize: Int { EventRules.maximumBodyBytes }

    /// The peer as an `IPAddress` (nil for Unix sockets).
    public var peerAddress: IPAddress? {
        remoteAddress?.ipAddress.flatMap(IPAddress.init)
    }
}
