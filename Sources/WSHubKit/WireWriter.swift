import NIOCore
import NIOWebSocket

/// Holds the context next to the socket for ``HubClient``. Outbound only because NIO wants every
/// handler to be one or the other: everything else's writes pass through it unchanged.
final class WireWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
}
