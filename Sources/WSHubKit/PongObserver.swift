import NIOCore
import NIOWebSocket

/// Sits after the WebSocket frame decoder of a client's connection and tells its `HubClient` when
/// a pong arrives; every frame goes on unchanged to HummingbirdWebSocket's handler.
public final class PongObserver: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias InboundOut = WebSocketFrame

    private let client: HubClient

    public init(client: HubClient) {
        self.client = client
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).opcode == .pong { client.pongReceivedOnEventLoop() }
        context.fireChannelRead(data)
    }

    /// Adds an observer for `client` right after the frame decoder of its channel.
    public static func install(for client: HubClient) -> EventLoopFuture<Void> {
        let channel = client.channel
        return channel.eventLoop.submit {
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(PongObserver(client: client), position: .after(decoder))
        }
    }
}
