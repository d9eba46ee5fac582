import NIOCore
import NIOWebSocket

/// Sits after the WebSocket frame decoder of a client's connection and tells its ``HubClient`` when
/// a pong arrives; every frame goes on unchanged to HummingbirdWebSocket's handler. The hub pings
/// from its own passes (``HubClient/pingOnEventLoop(_:)``) and this is how it learns of the answers.
public final class PongObserver: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias InboundOut = WebSocketFrame

    private let client: HubClient

    /// - Parameter client: the client told of pongs.
    public init(client: HubClient) {
        self.client = client
    }

    /// Tells the client of a pong and passes every frame on.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).opcode == .pong { client.pongReceivedOnEventLoop() }
        context.fireChannelRead(data)
    }

    /// Adds an observer for `client` right after the frame decoder of its channel.
    /// - Returns: a future that succeeds once the observer is in place, or fails when the channel has
    ///   no WebSocket frame decoder (it is closing).
    public static func install(for client: HubClient) -> EventLoopFuture<Void> {
        let channel = client.channel
        return channel.eventLoop.submit {
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(PongObserver(client: client), position: .after(decoder))
        }
    }
}
