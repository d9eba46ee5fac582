import AnalyticsCore
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing
import WSHubKit

@Suite("Hub messages and client buffers")
struct HubUnitTests {
    @Test func messagesAreEncodedAsDocumented() {
        let stats = Array(#"{"current_visitors":2,"unique_today":5,"timestamp":1}"#.utf8)
        #expect(
            String(buffer: HubMessages.initialStats(stats))
                == #"{"type":"initial_stats","data":{"current_visitors":2,"unique_today":5,"timestamp":1}}"#)
        #expect(String(buffer: HubMessages.heartbeat(stats)).hasPrefix(#"{"type":"heartbeat","data":{"#))
        let one = ArraySlice(Array(#"{"event_type":"click","timestamp":5}"#.utf8))
        #expect(String(buffer: HubMessages.events([one])!) == #"{"type":"event","data":{"event_type":"click","timestamp":5}}"#)
        #expect(
            String(buffer: HubMessages.events([one, one])!)
                == #"{"type":"events","data":[{"event_type":"click","timestamp":5},{"event_type":"click","timestamp":5}]}"#)
        #expect(HubMessages.events([]) == nil)
    }

    @Test func updatesKeepPublicEventFieldsOnly() throws {
        let payload = Array(
            #"{"type":"batch","events":[{"event_type":"click","timestamp":1,"page":"/a","referrer":"Google","country":"DE"},{"event_type":"x","visitor_id":"v","timestamp":2},{"event_type":"z","timestamp":2,"browser":"Firefox"},{"event_type":"cv_theme_view","timestamp":3,"theme":"t"},{"timestamp":4},"junk",{"event_type":"y","event_data":{"secret":1}}],"stats":{"current_visitors":1,"unique_today":1,"timestamp":9}}"#
                .utf8)
        let update = try #require(HubMessages.update(payload))
        #expect(
            update.events.map { String(decoding: $0, as: UTF8.self) } == [
                #"{"event_type":"click","timestamp":1,"page":"/a","referrer":"Google","country":"DE"}"#,
                #"{"event_type":"cv_theme_view","timestamp":3,"theme":"t"}"#,
            ])
        #expect(update.stats.map { String(decoding: $0, as: UTF8.self) } == #"{"current_visitors":1,"unique_today":1,"timestamp":9}"#)
        #expect(HubMessages.update(Array(#"{"type":"other"}"#.utf8)) == nil)
        #expect(HubMessages.update(Array("not json".utf8)) == nil)
        #expect(HubMessages.update(Array(#"{"type":"batch","events":[]}"#.utf8))?.events.isEmpty == true)
    }

    /// A connection whose socket takes nothing: writes stay pending.
    final class StalledSocket: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = WebSocketFrame
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {}
        func flush(context: ChannelHandlerContext) {}
    }

    final class Closes: Sendable {
        let reasons = Mutex<[HubClient.CloseReason]>([])
        var all: [HubClient.CloseReason] { reasons.withLock { $0 } }
        func record(_ reason: HubClient.CloseReason) { reasons.withLock { $0.append(reason) } }
    }

    /// An embedded loop runs its tasks only when told: run them, then read the settled future.
    func settled<Value: Sendable>(_ future: EventLoopFuture<Value>, on channel: any Channel) throws -> Value {
        (channel.eventLoop as! EmbeddedEventLoop).run()
        return try future.wait()
    }

    func connectedChannel(_ handlers: [any ChannelHandler] = []) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handlers: handlers)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aClientThatTakesNothingIsClosedAsTooSlowOnceItsBufferIsFull() throws {
        let channel = try connectedChannel([StalledSocket()])
        let closes = Closes()
        let client = HubClient(id: 1, capacity: 3, channel: channel, closeConnection: closes.record)
        let frames = OutgoingMessage(ByteBuffer(string: "m"))
        for _ in 0..<3 {
            #expect(client.writeOnEventLoop(frames) == .written)
            channel.flush()
        }
        #expect(try settled(client.pending(), on: channel) == 3)
        #expect(client.writeOnEventLoop(frames) == .overflowed)
        #expect(closes.all == [.tooSlow])
        #expect(try settled(client.closeReason(), on: channel) == .tooSlow)
        #expect(client.writeOnEventLoop(frames) == .closed)
        client.close(.goingAway)
        (channel.eventLoop as! EmbeddedEventLoop).run()
        #expect(closes.all == [.tooSlow], "the peer is told once")
    }

    @Test func aClientThatKeepsUpGetsEveryMessageInOrderAndNothingStaysPending() throws {
        let channel = try connectedChannel()
        let client = HubClient(id: 2, capacity: 2, channel: channel) { _ in Issue.record("closed") }
        for i in 0..<10 {
            #expect(client.writeOnEventLoop(OutgoingMessage(ByteBuffer(string: "m\(i)"))) == .written)
            channel.flush()
        }
        #expect(try settled(client.pending(), on: channel) == 0)
        for i in 0..<10 {
            let frame = try #require(try channel.readOutbound(as: WebSocketFrame.self))
            #expect(frame.opcode == .text && frame.fin && String(buffer: frame.data) == "m\(i)")
        }
        client.send(OutgoingMessage(ByteBuffer(string: "from another thread")))
        (channel.eventLoop as! EmbeddedEventLoop).run()
        #expect(try channel.readOutbound(as: WebSocketFrame.self).map { String(buffer: $0.data) } == "from another thread")
    }

    /// The pre-encoded bytes are exactly what NIO's own frame encoder writes, at every length form.
    @Test(arguments: [0, 125, 126, 65_535, 65_536, OutgoingMessage.maximumFrameSize * 5 + 3])
    func wireBytesAreWhatTheFrameEncoderWrites(size: Int) throws {
        let payload = ByteBuffer(repeating: UInt8(ascii: "z"), count: size)
        for compressed in [false, true] {
            let frames = OutgoingMessage.frames(of: payload, compressed: compressed)
            let encoder = try connectedChannel([WebSocketFrameEncoder()])
            var expected = ByteBuffer()
            for frame in frames { try encoder.writeOutbound(frame) }
            while var part = try encoder.readOutbound(as: ByteBuffer.self) { expected.writeBuffer(&part) }
            #expect(OutgoingMessage.wire(frames) == expected, "\(size) bytes, compressed: \(compressed)")
        }
        // A 65,536-byte payload is cut into 16 KB frames: the 64-bit length form needs one frame that big.
        let big = WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(repeating: 1, count: 70_000))
        let encoder = try connectedChannel([WebSocketFrameEncoder()])
        try encoder.writeOutbound(big)
        var expected = ByteBuffer()
        while var part = try encoder.readOutbound(as: ByteBuffer.self) { expected.writeBuffer(&part) }
        #expect(OutgoingMessage.wire([big]) == expected)
    }

    /// With its wire writer installed, a client's messages skip the WebSocket handlers: the bytes
    /// reach the socket pre-encoded, in order, and the pending count still falls back to zero.
    @Test func aClientWithItsWireWriterSendsThePreEncodedBytes() throws {
        let channel = try connectedChannel([WebSocketFrameEncoder()])
        let client = HubClient(id: 8, capacity: 4, channel: channel) { _ in Issue.record("closed") }
        _ = try settled(client.installWireWriter(), on: channel)
        var expected = ByteBuffer()
        for i in 0..<6 {
            let message = OutgoingMessage(ByteBuffer(string: "wire \(i)"))
            var bytes = message.wire(deflate: false)
            expected.writeBuffer(&bytes)
            #expect(client.writeOnEventLoop(message) == .written)
            client.flushOnEventLoop()
        }
        #expect(try settled(client.pending(), on: channel) == 0)
        var sent = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { sent.writeBuffer(&part) }
        #expect(sent == expected)
        // Frames written the usual way (pings, close frames) still go through the encoder.
        try channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())).wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
    }

    @Test func aLargeMessageGoesOutAsContinuationFramesSharingItsBytes() {
        let message = ByteBuffer(repeating: UInt8(ascii: "x"), count: OutgoingMessage.maximumFrameSize * 2 + 5)
        let frames = OutgoingMessage.frames(of: message)
        #expect(frames.map(\.opcode) == [.text, .continuation, .continuation])
        #expect(frames.map(\.fin) == [false, false, true])
        #expect(frames.map(\.data.readableBytes) == [OutgoingMessage.maximumFrameSize, OutgoingMessage.maximumFrameSize, 5])
        #expect(OutgoingMessage.frames(of: ByteBuffer(string: "small")).count == 1)
    }

    @Test func closingTellsThePeerOnceAndAGonePeerNotAtAll() throws {
        let channel = try connectedChannel()
        let closes = Closes()
        let client = HubClient(id: 3, capacity: 10, channel: channel, closeConnection: closes.record)
        client.close(.goingAway)
        client.close(.goingAway)
        (channel.eventLoop as! EmbeddedEventLoop).run()
        #expect(closes.all == [.goingAway])
        #expect(client.writeOnEventLoop(OutgoingMessage(ByteBuffer(string: "late"))) == .closed)

        let other = HubClient(id: 4, capacity: 10, channel: try connectedChannel(), closeConnection: closes.record)
        other.close(.gone)
        (other.eventLoop as! EmbeddedEventLoop).run()
        #expect(closes.all == [.goingAway])
        #expect(try settled(other.closeReason(), on: other.channel) == .gone)
    }

    @Test func aMessageIsCompressedOnceAndInflatesBackForDeflatingClientsOnly() throws {
        let events = (0..<100).map { #"{"event_type":"click","timestamp":\#(1_764_000_000_000 + $0),"page":"/p/\#($0 % 7)"}"# }
        let text = #"{"type":"events","data":["# + events.joined(separator: ",") + "]}"
        let message = OutgoingMessage(ByteBuffer(string: text), deflater: MessageDeflater())
        let deflated = try #require(message.deflated)
        #expect(deflated.count == 1 && deflated[0].rsv1 && deflated[0].fin && deflated[0].opcode == .text)
        #expect(deflated[0].data.readableBytes * 5 < text.utf8.count, "repetitive JSON shrinks at least 5×")
        let inflated = try #require(MessageInflater().inflate(deflated[0].data, maximumSize: 1 << 20))
        #expect(String(buffer: inflated) == text)
        #expect(MessageInflater().inflate(deflated[0].data, maximumSize: 100) == nil, "over the size limit")
        #expect(MessageInflater().inflate(ByteBuffer(string: "not deflate at all"), maximumSize: 1 << 20) == nil)
        // Small messages and clients without the extension get text.
        #expect(OutgoingMessage(ByteBuffer(string: "{}"), deflater: MessageDeflater()).deflated == nil)
        #expect(message.frames(deflate: false).map(\.rsv1) == [false])

        let plainChannel = try connectedChannel()
        let deflatingChannel = try connectedChannel()
        let plainClient = HubClient(id: 5, capacity: 4, channel: plainChannel) { _ in }
        let deflatingClient = HubClient(id: 6, capacity: 4, channel: deflatingChannel, deflates: true) { _ in }
        #expect(plainClient.writeOnEventLoop(message) == .written)
        #expect(deflatingClient.writeOnEventLoop(message) == .written)
        plainChannel.flush()
        deflatingChannel.flush()
        #expect(try plainChannel.readOutbound(as: WebSocketFrame.self).map { String(buffer: $0.data) } == text)
        let sent = try #require(try deflatingChannel.readOutbound(as: WebSocketFrame.self))
        #expect(sent.rsv1 && sent.data == deflated[0].data)
    }

    @Test func aLargeCompressedMessageMarksOnlyItsFirstFrame() throws {
        var random = SystemRandomNumberGenerator()
        let noise = ByteBuffer(bytes: (0..<(OutgoingMessage.maximumFrameSize + 10)).map { _ in UInt8.random(in: 0...255, using: &random) })
        let frames = OutgoingMessage.frames(of: noise, compressed: true)
        #expect(frames.map(\.rsv1) == [true, false])
        #expect(frames.map(\.opcode) == [.text, .continuation])
        #expect(MessageDeflater().deflate(noise) == nil, "incompressible input stays as it is")
    }

    @Test func theHubAcceptsOffersItCanServeWithOneCompressedMessage() {
        func negotiated(_ offer: String?) -> Bool {
            var headers = HTTPFields()
            if let offer { headers[.secWebSocketExtensions] = offer }
            return SharedDeflateNegotiation.negotiated(requestHeaders: headers)
        }
        #expect(negotiated("permessage-deflate; client_max_window_bits"), "what browsers offer")
        #expect(negotiated("permessage-deflate"))
        #expect(negotiated("permessage-deflate; server_no_context_takeover; client_no_context_takeover"))
        #expect(negotiated("permessage-deflate; server_max_window_bits=15; client_max_window_bits=10"))
        #expect(!negotiated("permessage-deflate; server_max_window_bits=10"), "one compressed message cannot suit a smaller window")
        #expect(!negotiated("permessage-deflate; unknown_parameter"))
        #expect(!negotiated("x-webkit-deflate-frame"))
        #expect(!negotiated(nil))
    }

    @Test func aPeerThatLeavesAPingUnansweredForAPeriodIsClosedAsSilent() throws {
        let channel = try connectedChannel()
        let closes = Closes()
        let client = HubClient(id: 7, capacity: 4, channel: channel, closeConnection: closes.record)
        try channel.pipeline.syncOperations.addHandler(PongObserver(client: client))
        let ping = WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "p"))
        #expect(client.pingOnEventLoop(ping) == .sent)
        channel.flush()
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.opcode == .ping)
        // Answered: the next ping goes out too.
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer(string: "p")))
        #expect(try channel.readInbound(as: WebSocketFrame.self)?.opcode == .pong, "frames go on to the WebSocket handler")
        #expect(client.pingOnEventLoop(ping) == .sent)
        #expect(closes.all.isEmpty)
        // Unanswered for a period: closed once, nothing more sent.
        #expect(client.pingOnEventLoop(ping) == .silent)
        #expect(closes.all == [.silent])
        #expect(client.pingOnEventLoop(ping) == .closed)
        #expect(client.writeOnEventLoop(OutgoingMessage(ByteBuffer(string: "late"))) == .closed)
    }
}
