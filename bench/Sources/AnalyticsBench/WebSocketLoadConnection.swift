import NIOCore
import NIOPosix

/// One ws-load connection on NIO: the sampled and stalled ones (and the counting ones with
/// `--no-raw-counting`). Confined to its event loop: every access is on `loop`.
final class WebSocketLoadConnection: @unchecked Sendable {
    enum Role: Sendable { case counting, sampled, stalled }

    let role: Role
    let loop: any EventLoop
    var channel: (any Channel)?
    var state: WebSocketConnectionSnapshot
    var closingByClient = false
    var messageWindow = SlidingSecondCounter()
    /// Lines of `--trace`, for the first sampled connection only.
    var trace: [String]?
    var eventWindow = SlidingSecondCounter()

    init(index: Int, role: Role, loop: any EventLoop) {
        self.role = role
        self.loop = loop
        self.state = WebSocketConnectionSnapshot(index: index, role: role)
    }

    func snapshot() -> WebSocketConnectionSnapshot {
        var s = state
        s.maxMessagesPerSecond = messageWindow.maximum
        s.maxEventMessagesPerSecond = eventWindow.maximum
        return s
    }

    /// Connects and upgrades; the future succeeds (with this connection) whether or not that worked.
    static func open(index: Int, role: Role, target: WebSocketTarget, on loop: any EventLoop, refresh: Bool) -> EventLoopFuture<
        WebSocketLoadConnection
    > {
        let conn = WebSocketLoadConnection(index: index, role: role, loop: loop)
        let upgraded = loop.makePromise(of: Void.self)
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        WebSocketLoadHandler(conn: conn, request: target.request, upgraded: upgraded, refresh: refresh))
                }
            }
            .connect(to: target.address)
        connected.whenFailure { upgraded.fail($0) }
        return connected.flatMap { _ in upgraded.futureResult }
            .map { conn }
            .recover { error in
                if conn.state.failure == nil { conn.state.failure = WebSocketLoadConnection.describe(error) }
                return conn
            }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? IOError { return "\(e.description)" }
        if let e = error as? ChannelError { return "\(e)" }
        if let e = error as? NIOConnectionError {
            return e.connectionErrors.first.map { "\($0.error)" } ?? "\(e)"
        }
        return "\(error)"
    }

    /// Polls TCP_INFO of a stalled connection: a FIN or RST from the hub shows up here even though
    /// nothing reads the socket.
    func probeTCPState() async {
        guard role == .stalled else { return }
        let future: EventLoopFuture<UInt8?> = loop.flatSubmit {
            guard self.state.established, self.state.stallEndSeen == nil, !self.state.resumed,
                let provider = self.channel as? any SocketOptionProvider
            else { return self.loop.makeSucceededFuture(nil) }
            return provider.getTCPInfo().map { Optional($0.tcpi_state) }.recover { _ in nil }
        }
        guard let tcpState = (try? await future.get()) ?? nil else { return }
        loop.execute {
            guard self.state.stallEndSeen == nil else { return }
            switch tcpState {
            case 1: return  // ESTABLISHED
            case 8: self.state.stallEndSeen = "FIN (CLOSE_WAIT)"
            case 7: self.state.stallEndSeen = "RST (CLOSE)"
            default: self.state.stallEndSeen = "TCP state \(tcpState)"
            }
            self.state.stallEndAt = monotonicNanoseconds()
        }
    }

    func resumeReading() {
        loop.execute {
            guard let channel = self.channel, self.state.closedAt == nil else { return }
            self.state.resumed = true
            self.state.bytesAtResume = self.state.payloadBytes
            channel.setOption(ChannelOptions.autoRead, value: true).whenSuccess { channel.read() }
        }
    }

    /// Close frame 1001 (going away), then the TCP connection.
    func closeByClient() -> EventLoopFuture<Void> {
        guard let channel, state.closedAt == nil else { return loop.makeSucceededVoidFuture() }
        closingByClient = true
        let frame = WebSocketLoadHandler.frame(opcode: 0x8, payload: [0x03, 0xE9], allocator: channel.allocator)
        return channel.writeAndFlush(frame).flatMap { channel.close() }.recover { _ in }
    }
}
