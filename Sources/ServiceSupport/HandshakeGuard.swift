import AnalyticsCore
import NIOCore

/// Guards a WebSocket listener's connections at the byte level, in front of the HTTP codecs (which
/// the upgrade replaces): the first request's head must arrive within the header timeout (the
/// handshake deadline), and a connection that stays HTTP must not be idle longer than the idle
/// timeout. Once the server answers `101 Switching Protocols` the WebSocket's own pings watch the
/// connection and this guard stands aside.
public final class HandshakeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = IOData
    public typealias OutboundOut = IOData

    private enum Phase {
        /// The first head is still coming; the last bytes read, for an end split across reads.
        case awaitingHead(tail: [UInt8])
        case http
        case upgraded
    }

    private let timeouts: ConnectionDeadlines.Timeouts
    private var phase = Phase.awaitingHead(tail: [])
    private var acceptedAt = ContinuousClock.now
    private var lastActivity = ContinuousClock.now
    private var timer: Scheduled<Void>?
    private var firstWrite = true

    /// - Parameter timeouts: the header timeout is the handshake deadline; the idle timeout applies
    ///   to connections that stay HTTP (metrics, health checks).
    public init(timeouts: ConnectionDeadlines.Timeouts) {
        self.timeouts = timeouts
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        acceptedAt = .now
        lastActivity = acceptedAt
        rearm(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now
        if case .awaitingHead(let tail) = phase {
            let buffer = unwrapInboundIn(data)
            let bytes = tail + buffer.readableBytesView.suffix(buffer.readableBytes)
            if Self.containsEndOfHead(bytes) {
                phase = .http
                rearm(context: context)
            } else {
                phase = .awaitingHead(tail: Array(bytes.suffix(3)))
            }
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if firstWrite {
            firstWrite = false
            if case .byteBuffer(let buffer) = unwrapOutboundIn(data), buffer.readableBytesView.starts(with: Self.switchingProtocols) {
                phase = .upgraded
                timer?.cancel()
                timer = nil
            }
        }
        lastActivity = .now
        context.write(data, promise: promise)
    }

    static let switchingProtocols = Array("HTTP/1.1 101".utf8)

    static func containsEndOfHead(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }

    private var deadline: ContinuousClock.Instant? {
        switch phase {
        case .awaitingHead: acceptedAt + timeouts.header
        case .http: lastActivity + timeouts.idle
        case .upgraded: nil
        }
    }

    private func rearm(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let deadline else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .microseconds(max(0, (deadline - .now).inMicroseconds))) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            if let due = handler.deadline, ContinuousClock.now >= due {
                context.close(promise: nil)
            } else {
                handler.rearm(context: context)
            }
        }
    }
}
