import Foundation
import NIOCore
import WSHubKit

/// The channel handler of a `WebSocketLoadConnection`: handshake, then frames read in place (no
/// accumulation for the counting connections beyond the first bytes of each message and control
/// frames).
final class WebSocketLoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let conn: WebSocketLoadConnection
    private let request: ByteBuffer
    private let upgraded: EventLoopPromise<Void>
    private let refresh: Bool
    private var upgradedDone = false
    private var response: [UInt8] = []
    private var handshakeTimeout: Scheduled<Void>?

    private var frames: FrameReader
    /// Sampled connections that negotiated permessage-deflate: one zlib stream, kept.
    private lazy var inflater = MessageInflater()
    private var readWall: Int64 = 0
    private var readMono: UInt64 = 0
    private var closeSent = false
    private var currentSecond: UInt64 = 0
    private var secondCount = 0

    init(conn: WebSocketLoadConnection, request: ByteBuffer, upgraded: EventLoopPromise<Void>, refresh: Bool) {
        self.conn = conn
        self.request = request
        self.upgraded = upgraded
        self.refresh = refresh
        frames = FrameReader(keepsWholeMessages: conn.role == .sampled)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        conn.channel = context.channel
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        let promise = upgraded
        let channel = context.channel
        handshakeTimeout = context.eventLoop.scheduleTask(in: .seconds(10)) { [conn] in
            if conn.state.failure == nil { conn.state.failure = "handshake timeout" }
            promise.fail(ChannelError.connectTimeout(.seconds(10)))
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        let now = monotonicNanoseconds()
        if !upgradedDone {
            if conn.state.failure == nil { conn.state.failure = "closed during the handshake" }
            upgraded.fail(ChannelError.ioOnClosedChannel)
        } else {
            conn.state.closedAt = now
            if !conn.closingByClient { conn.state.closedByServer = true }
            if conn.role == .stalled, conn.state.stallEndSeen == nil, !conn.state.resumed {
                conn.state.stallEndSeen = "connection closed"
                conn.state.stallEndAt = now
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !upgradedDone, conn.state.failure == nil { conn.state.failure = WebSocketLoadConnection.describe(error) }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        readMono = monotonicNanoseconds()
        if conn.role == .sampled { readWall = wallMicroseconds() }
        if !upgradedDone {
            guard handshake(context: context, buffer: &buffer) else { return }
        }
        readFrames(context: context, buffer: &buffer)
    }

    // MARK: handshake

    /// Reads the 101 answer; true once upgraded (the rest of `buffer` is frames).
    private func handshake(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> Bool {
        let before = response.count
        response.append(contentsOf: buffer.readableBytesView)
        let end: Int
        let deflate: Bool
        switch UpgradeAnswer.read(response, searchingFrom: before) {
        case .incomplete: return false
        case .refused(let reason):
            fail(context: context, reason)
            return false
        case .upgraded(let headEnd, let deflates):
            end = headEnd
            deflate = deflates
        }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes - (response.count - end))
        response = []
        upgradedDone = true
        handshakeTimeout?.cancel()
        conn.state.established = true
        conn.state.deflate = deflate
        frames.deflateNegotiated = deflate
        conn.state.connectedAt = readMono
        if conn.role == .stalled {
            conn.state.stalledAt = readMono
            conn.state.localPort = context.channel.localAddress?.port
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        upgraded.succeed()
        return true
    }

    private func fail(context: ChannelHandlerContext, _ reason: String) {
        if conn.state.failure == nil { conn.state.failure = reason }
        upgraded.fail(ChannelError.inappropriateOperationForState)
        context.close(promise: nil)
    }

    // MARK: frames

    private func readFrames(context: ChannelHandlerContext, buffer: inout ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            frames.consume(bytes) { item in
                switch item {
                case .message(let opcode, let compressed, let bytes):
                    messageEnded(context: context, opcode: opcode, compressed: compressed, bytes: bytes)
                case .control(let opcode, let payload): handleControl(context: context, opcode: opcode, payload: payload)
                }
            }
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        conn.state.payloadBytes = frames.payloadBytes
        conn.state.protocolErrors += frames.takeProtocolErrors()
    }

    private func handleControl(context: ChannelHandlerContext, opcode: UInt8, payload: [UInt8]) {
        switch opcode {
        case 0x9:  // ping
            conn.state.pings += 1
            context.writeAndFlush(
                wrapOutboundOut(Self.frame(opcode: 0xA, payload: payload, allocator: context.channel.allocator)), promise: nil)
        case 0x8:  // close
            conn.state.closeCode = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
            if !conn.closingByClient {
                conn.state.closedByServer = true
                if conn.role == .stalled, conn.state.stallEndSeen == nil, !conn.state.resumed {
                    conn.state.stallEndSeen = "close frame \(conn.state.closeCode!)"
                    conn.state.stallEndAt = readMono
                }
            }
            if !closeSent {
                closeSent = true
                let echo = Array(payload.prefix(2))
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(Self.frame(opcode: 0x8, payload: echo, allocator: channel.allocator)))
                    .whenComplete { _ in channel.close(promise: nil) }
            }
        case 0xA: break  // pong
        default: conn.state.protocolErrors += 1
        }
    }

    private func messageEnded(context: ChannelHandlerContext, opcode: UInt8, compressed: Bool, bytes: [UInt8]) {
        guard conn.role == .sampled else {
            conn.state.countUnparsed(compressed: compressed, prefix: bytes, at: readMono)
            return
        }
        conn.state.messages += 1
        if sampledMessage(context: context, opcode: opcode, compressed: compressed, message: bytes) {
            conn.state.eventMessage(at: readMono)
        }
    }

    /// Full parse of a sampled connection's message; true if it carried events.
    private func sampledMessage(context: ChannelHandlerContext, opcode: UInt8, compressed: Bool, message: [UInt8]) -> Bool {
        var message = message
        conn.messageWindow.add(readMono)
        if compressed {
            guard let inflated = inflater.inflate(ByteBuffer(bytes: message), maximumSize: 64 << 20) else {
                conn.state.parseErrors += 1
                conn.state.byType[HubMessageType.other.rawValue] += 1
                return false
            }
            conn.state.compressedBytes += message.count
            conn.state.inflatedBytes += inflated.readableBytes
            message = Array(inflated.readableBytesView)
        }
        guard opcode == 0x1, let parsed = try? HubMessageParser.parse(message) else {
            conn.state.parseErrors += 1
            conn.state.byType[HubMessageType.other.rawValue] += 1
            return false
        }
        let type = parsed.type.map { HubMessageType(name: Array($0.utf8)) } ?? .other
        if conn.trace != nil {
            let ts = type == .event ? (parsed.dataTimestamp.map { [$0] } ?? []) : type == .events ? parsed.elementTimestamps : []
            let lat = ts.map { Double(readWall) / 1000 - $0 }
            conn.trace!.append(
                String(format: "%.3f ", Double(readMono - conn.state.connectedAt) / 1e9) + type.name
                    + String(
                        format: " events=%d bytes=%d latency_ms_min=%.1f max=%.1f", ts.count, message.count, lat.min() ?? .nan,
                        lat.max() ?? .nan))
        }
        conn.state.byType[type.rawValue] += 1
        if conn.state.firstType == nil { conn.state.firstType = type }
        for key in parsed.forbiddenKeys where conn.state.forbiddenKeys.count < 5 && !conn.state.forbiddenKeys.contains(key) {
            conn.state.forbiddenKeys.append(key)
        }
        switch type {
        case .event, .events:
            conn.eventWindow.add(readMono)
            let second = readMono / 1_000_000_000
            if second != currentSecond {
                currentSecond = second
                secondCount = 0
                conn.state.eventSeconds += 1
            }
            secondCount += 1
            if secondCount == 11 { conn.state.eventSecondsOverTen += 1 }
            let timestamps = type == .event ? (parsed.dataTimestamp.map { [$0] } ?? []) : parsed.elementTimestamps
            conn.state.events += type == .event ? 1 : parsed.elementCount
            conn.state.eventsWithoutTimestamp += (type == .event ? 1 : parsed.elementCount) - timestamps.count
            for ms in timestamps {
                let latency = readWall - Int64((ms * 1000).rounded())
                conn.state.latencies.append(Int32(clamping: latency))
            }
            return true
        case .initialStats:
            if refresh, !conn.state.refreshSent {
                conn.state.refreshSent = true
                let payload = Array(#"{"type":"refresh_stats"}"#.utf8)
                context.writeAndFlush(
                    wrapOutboundOut(Self.frame(opcode: 0x1, payload: payload, allocator: context.channel.allocator)), promise: nil)
            }
            return false
        default:
            return false
        }
    }

    /// A client frame (masked, as RFC 6455 requires of clients).
    static func frame(opcode: UInt8, payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: payload.count + 14)
        out.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            out.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(payload.count))
        } else {
            out.writeInteger(UInt8(0x80 | 127))
            out.writeInteger(UInt64(payload.count))
        }
        let mask = UInt32.random(in: .min ... .max)
        out.writeInteger(mask)
        let m: [UInt8] = [UInt8(mask >> 24), UInt8(mask >> 16 & 0xFF), UInt8(mask >> 8 & 0xFF), UInt8(mask & 0xFF)]
        for (i, b) in payload.enumerated() { out.writeInteger(b ^ m[i & 3]) }
        return out
    }
}
