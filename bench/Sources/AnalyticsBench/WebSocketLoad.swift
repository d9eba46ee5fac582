import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import WSHubKit

#if canImport(Glibc)
import Glibc
#endif

/// `ws-load`: many WebSocket dashboards on the hub at once.
///
/// The client is written directly on NIO (a hand-rolled RFC 6455 handshake and frame reader, no
/// HTTP pipeline and no task per connection) so that 10,000 connections cost little next to the hub
/// on the same two cores. Every connection answers pings and counts its messages by type (from the
/// `{"type":"…"` prefix the hub writes); only `--sampled` connections parse every message fully to
/// measure the delivery latency of each event (receive time − the event's `timestamp`, the gateway's
/// acceptance time in Unix ms) and to check that no message carries a visitor id or `event_data`.
/// `--stall` extra clients connect, then stop reading (TCP backpressure builds up at the hub); the
/// report says whether and when the hub dropped them. Connections offer permessage-deflate as
/// browsers do (`--no-deflate` not to); sampled ones inflate compressed messages, the others count
/// them without inflating (type `compressed`).
struct WebSocketLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws-load",
        abstract: "Holds many WebSocket connections on the hub and measures what they receive.")

    @Option(help: "WebSocket URL of the hub") var url = "ws://127.0.0.1:8081/ws/analytics"
    @Option(help: "Connections that read normally") var clients = 10_000
    @Option(help: "New connections per second during the ramp-up") var connectRate = 2000
    @Option(help: "Seconds to hold the connections once every connection attempt has finished") var duration = 30
    @Option(help: "Connections (among --clients) that parse every message: latency, rates, privacy") var sampled = 200
    @Option(help: "Extra connections that stop reading once connected") var stall = 0
    @Option(help: "Origin header of the handshake (none by default)") var origin: String?
    @Option(help: "File created once every connection attempt has finished (for scripts)") var readyFile: String?
    @Option(help: "Event loop threads (default: NIO's singleton group, one per core)") var threads: Int?
    @Option(help: "Seconds between progress lines on stderr (0: none)") var progress = 10
    @Option(help: "Write every message of the first sampled connection here (arrival, type, events, bytes, latencies)")
    var trace: String?
    @Flag(inversion: .prefixedNo, help: "Sampled connections send one refresh_stats after their initial_stats")
    var refresh = true
    @Flag(inversion: .prefixedNo, help: "Offer permessage-deflate in the handshake, as browsers do")
    var deflate = true
    @Flag(inversion: .prefixedNo, help: "Counting connections on a thread and an epoll set of their own instead of NIO (CountingConnections)")
    var rawCounting = true

    func validate() throws {
        guard clients >= 0, stall >= 0, clients + stall > 0 else { throw ValidationError("need at least one connection") }
        guard connectRate > 0, duration >= 0 else { throw ValidationError("--connect-rate must be > 0, --duration >= 0") }
        guard sampled >= 0 else { throw ValidationError("--sampled must be >= 0") }
    }

    func run() async throws {
        let target = try WSTarget(url: url, origin: origin, deflate: deflate)
        let group: any EventLoopGroup = threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        let sampledCount = min(sampled, clients)
        let stride = sampledCount > 0 ? max(1, clients / sampledCount) : Int.max
        func role(_ i: Int) -> WSConn.Role {
            if i >= clients { return .stalled }
            if sampledCount > 0, i % stride == 0, i / stride < sampledCount { return .sampled }
            return .counting
        }

        // Ramp-up: connections are started on a fixed schedule, in small batches.
        let total = clients + stall
        let rampStart = ContinuousClock.now
        let counting = rawCounting ? CountingConnections(target: target) : nil
        counting?.connect(indices: (0..<total).filter { role($0) == .counting }, rampStart: rampStart, connectRate: connectRate)
        let batch = max(1, connectRate / 200)
        var pending: [EventLoopFuture<WSConn>] = []
        pending.reserveCapacity(total)
        var lastProgress = rampStart
        for i in 0..<total {
            if i % batch == 0 {
                try await Task.sleep(until: rampStart + .seconds(Double(i) / Double(connectRate)), clock: .continuous)
                if progress > 0, ContinuousClock.now - lastProgress >= .seconds(progress) {
                    lastProgress = .now
                    log("ramp-up: \(i) connections started")
                }
            }
            if counting != nil, role(i) == .counting { continue }
            let conn = WSConn.open(index: i, role: role(i), target: target, on: group.next(), refresh: refresh)
            if trace != nil, i == 0, sampledCount > 0 { _ = conn.map { $0.trace = [] } }
            pending.append(conn)
        }
        var conns: [WSConn] = []
        conns.reserveCapacity(total)
        for future in pending { conns.append(try await future.get()) }
        await counting?.connected()
        let rampEnd = ContinuousClock.now
        let atReady = await snapshot(conns, counting)
        let established = atReady.filter { $0.established }.count
        let rampSeconds = seconds(rampEnd - rampStart)
        // Written at once (stdout is buffered when redirected): scripts wait for this line.
        FileHandle.standardOutput.write(Data(String(
            format: "ready: %d of %d connections established in %.2f s (%.0f connections/s)\n",
            established, total, rampSeconds, Double(established) / max(rampSeconds, 0.001)).utf8))
        if let readyFile { FileManager.default.createFile(atPath: readyFile, contents: Data("\(established)\n".utf8)) }

        // Hold: watch the stalled connections' TCP state; print progress.
        let holdStart = ContinuousClock.now
        let holdEnd = holdStart + .seconds(duration)
        let stalled = conns.filter { $0.role == .stalled }
        var previous = atReady
        var previousAt = holdStart
        // The hub's end of each stalled connection, as the kernel sees it (/proc/net/tcp): a hub that
        // gives up on a client closes its socket, which stays orphaned (inode 0) in FIN_WAIT1 behind
        // the unsent backlog while this end still looks established.
        var hubSide: [Int: HubSocketEnd] = [:]
        let stalledPorts = stalled.isEmpty ? [:] : Dictionary(
            (await snapshot(stalled)).compactMap { s in s.localPort.map { ($0, s.index) } }, uniquingKeysWith: { a, _ in a })
        var tick = 0
        while ContinuousClock.now < holdEnd {
            try await Task.sleep(for: .milliseconds(250))
            for conn in stalled { await conn.probeTCPState() }
            tick += 1
            if hubSide.count < stalledPorts.count, tick % 4 == 0, let port = target.address.port {
                let table = KernelTCPTable.hubSide(serverPort: port, clientPorts: Set(stalledPorts.keys))
                let now = monotonicNanoseconds()
                for (clientPort, index) in stalledPorts where hubSide[index] == nil {
                    let entry = table[clientPort]
                    if let entry, entry.state == 1, entry.inode != 0 { continue }  // established, owned by the hub
                    hubSide[index] = HubSocketEnd(
                        at: now,
                        what: entry.map { "\($0.inode == 0 ? "closed, orphaned" : "open") in \(KernelTCPTable.stateName($0.state))" } ?? "gone",
                        unsent: entry?.sendQueue ?? 0)
                }
            }
            if progress > 0, ContinuousClock.now - previousAt >= .seconds(progress) {
                let now = await snapshot(conns, counting)
                let dt = seconds(ContinuousClock.now - previousAt)
                let messages = now.reduce(0) { $0 + $1.messages } - previous.reduce(0) { $0 + $1.messages }
                let bytes = now.reduce(0) { $0 + $1.payloadBytes } - previous.reduce(0) { $0 + $1.payloadBytes }
                let open = now.filter { $0.established && $0.closedAt == nil }.count
                log(String(format: "t=%.0f s: %d open, %.0f messages/s, %.1f MB/s received in all",
                           seconds(ContinuousClock.now - holdStart), open, Double(messages) / dt, Double(bytes) / dt / 1e6))
                previous = now
                previousAt = .now
            }
        }
        let holdSeconds = seconds(ContinuousClock.now - holdStart)
        let atEnd = await snapshot(conns, counting)

        // The stalled connections that still look open read again: whatever the hub queued (and its
        // close frame, if it gave up on them) arrives now.
        var resumed: [WSConnSnapshot] = []
        if !stalled.isEmpty {
            for conn in stalled { conn.resumeReading() }
            try await Task.sleep(for: .seconds(3))
            resumed = await snapshot(stalled)
        }

        await closeAll(conns)
        counting?.closeAll()
        if let trace, let first = conns.first(where: { $0.role == .sampled }) {
            let lines = (try? await first.loop.submit { first.trace ?? [] }.get()) ?? []
            FileManager.default.createFile(atPath: trace, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        if threads != nil { try await group.shutdownGracefully() }

        WSLoadReport(
            total: total, clients: clients, stall: stall, rampSeconds: rampSeconds, holdSeconds: holdSeconds,
            atReady: atReady, atEnd: atEnd, resumed: resumed, hubSide: hubSide
        ).print()
    }

    func snapshot(_ conns: [WSConn], _ counting: CountingConnections? = nil) async -> [WSConnSnapshot] {
        var out = counting?.snapshots() ?? []
        out.reserveCapacity(conns.count)
        let futures = conns.map { conn in conn.loop.submit { conn.snapshot() } }
        for future in futures { if let s = try? await future.get() { out.append(s) } }
        return out
    }

    func closeAll(_ conns: [WSConn]) async {
        let futures = conns.map { conn in conn.loop.flatSubmit { conn.closeByClient() } }
        for future in futures { _ = try? await future.get() }
    }

    func log(_ line: String) {
        FileHandle.standardError.write(Data("ws-load: \(line)\n".utf8))
    }
}

// MARK: - Target

struct WSTarget: Sendable {
    let address: SocketAddress
    let request: ByteBuffer
    let description: String

    init(url: String, origin: String?, deflate: Bool) throws {
        guard url.hasPrefix("ws://") else { throw ValidationError("--url must start with ws:// (wss is not supported)") }
        let rest = url.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = authority
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]) else { throw ValidationError("bad port in --url") }
            port = p
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        var key = [UInt8](repeating: 0, count: 16)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        var text = "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { text += "Origin: \(origin)\r\n" }
        if deflate { text += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" }
        text += "User-Agent: analytics-bench ws-load\r\n\r\n"
        self.request = ByteBuffer(string: text)
        self.description = url
    }
}

/// The hub's answer to the upgrade request, as far as it has arrived.
enum UpgradeAnswer: Equatable {
    case incomplete
    case refused(String)
    /// `headEnd`: where the frames start; `deflate`: permessage-deflate accepted.
    case upgraded(headEnd: Int, deflate: Bool)

    /// `bytes`: everything received so far; the head's end is looked for from `searchingFrom` on.
    static func read(_ bytes: [UInt8], searchingFrom start: Int = 0) -> UpgradeAnswer {
        var i = max(0, start - 3)
        var end: Int?
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 {
                end = i + 4
                break
            }
            i += 1
        }
        guard let end else { return bytes.count > 16_384 ? .refused("handshake answer too long") : .incomplete }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let parts = head.prefix { $0 != "\r" }.split(separator: " ")
        guard parts.count >= 2, parts[1] == "101" else { return .refused(parts.count >= 2 ? "HTTP \(parts[1])" : "bad HTTP answer") }
        let lower = head.lowercased()
        guard lower.contains("\r\nupgrade: websocket"), lower.contains("\r\nsec-websocket-accept:") else {
            return .refused("101 without the WebSocket headers")
        }
        return .upgraded(headEnd: end, deflate: lower.contains("\r\nsec-websocket-extensions: permessage-deflate"))
    }
}

// MARK: - Clocks

@inline(__always) func wallMicroseconds() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
}

@inline(__always) func monotonicNanoseconds() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds
}

// MARK: - One connection

/// Message types, by index in the per-connection counters.
enum HubMessageType: Int, CaseIterable, Sendable {
    case initialStats, heartbeat, event, events, other
    /// Compressed (permessage-deflate), on a connection that does not inflate.
    case compressed

    var name: String {
        switch self {
        case .initialStats: "initial_stats"
        case .heartbeat: "heartbeat"
        case .event: "event"
        case .events: "events"
        case .other: "other"
        case .compressed: "compressed"
        }
    }

    init(name: some Collection<UInt8>) {
        switch String(decoding: name, as: UTF8.self) {
        case "initial_stats": self = .initialStats
        case "heartbeat": self = .heartbeat
        case "event": self = .event
        case "events": self = .events
        default: self = .other
        }
    }

    /// From the first bytes of a message as the hub writes it: `{"type":"NAME",…`.
    init(prefix: [UInt8]) {
        let head = Array(#"{"type":""#.utf8)
        guard prefix.count > head.count, prefix.starts(with: head),
              let end = prefix[head.count...].firstIndex(of: UInt8(ascii: "\""))
        else {
            self = .other
            return
        }
        self.init(name: prefix[head.count..<end])
    }
}

/// Counts of messages within a sliding one-second window; remembers the highest.
struct SlidingSecond {
    private var times: [UInt64] = []
    private var head = 0
    private(set) var maximum = 0

    mutating func add(_ t: UInt64) {
        times.append(t)
        while times[head] + 1_000_000_000 <= t { head += 1 }
        maximum = max(maximum, times.count - head)
        if head > 256 {
            times.removeFirst(head)
            head = 0
        }
    }
}

/// What a connection saw so far, copied out of its event loop.
struct WSConnSnapshot: Sendable {
    var index: Int
    var role: WSConn.Role
    var established = false
    var failure: String?
    var connectedAt: UInt64 = 0
    var messages = 0
    var payloadBytes = 0
    /// permessage-deflate accepted by the hub.
    var deflate = false
    /// Sampled connections: bytes of the compressed messages on the wire, and once inflated.
    var compressedBytes = 0
    var inflatedBytes = 0
    var byType = [Int](repeating: 0, count: HubMessageType.allCases.count)
    var firstType: HubMessageType?
    var pings = 0
    var protocolErrors = 0
    var closedAt: UInt64?
    var closedByServer = false
    var closeCode: Int?
    var firstEventMessageAt: UInt64?
    var lastEventMessageAt: UInt64?
    // Sampled connections.
    var events = 0
    var eventsWithoutTimestamp = 0
    var latencies: [Int32] = []
    var maxMessagesPerSecond = 0
    var maxEventMessagesPerSecond = 0
    /// Calendar seconds (of the monotonic clock) in which the client received event messages, and
    /// those with more than 10.
    var eventSeconds = 0
    var eventSecondsOverTen = 0
    var forbiddenKeys: [String] = []
    var parseErrors = 0
    var refreshSent = false
    // Stalled connections.
    var stalledAt: UInt64?
    var localPort: Int?
    var stallEndSeen: String?
    var stallEndAt: UInt64?
    var resumed = false
    var bytesAtResume = 0
}

/// One WebSocket connection's state; confined to its event loop (every access is on `loop`).
final class WSConn: @unchecked Sendable {
    enum Role: Sendable { case counting, sampled, stalled }

    let role: Role
    let loop: any EventLoop
    var channel: (any Channel)?
    var state: WSConnSnapshot
    var closingByClient = false
    var messageWindow = SlidingSecond()
    /// Lines of `--trace`, for the first sampled connection only.
    var trace: [String]?
    var eventWindow = SlidingSecond()

    init(index: Int, role: Role, loop: any EventLoop) {
        self.role = role
        self.loop = loop
        self.state = WSConnSnapshot(index: index, role: role)
    }

    func snapshot() -> WSConnSnapshot {
        var s = state
        s.maxMessagesPerSecond = messageWindow.maximum
        s.maxEventMessagesPerSecond = eventWindow.maximum
        return s
    }

    /// Connects and upgrades; the future succeeds (with this connection) whether or not that worked.
    static func open(index: Int, role: Role, target: WSTarget, on loop: any EventLoop, refresh: Bool) -> EventLoopFuture<WSConn> {
        let conn = WSConn(index: index, role: role, loop: loop)
        let upgraded = loop.makePromise(of: Void.self)
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        WSLoadHandler(conn: conn, request: target.request, upgraded: upgraded, refresh: refresh))
                }
            }
            .connect(to: target.address)
        connected.whenFailure { upgraded.fail($0) }
        return connected.flatMap { _ in upgraded.futureResult }
            .map { conn }
            .recover { error in
                if conn.state.failure == nil { conn.state.failure = WSConn.describe(error) }
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
        let frame = WSLoadHandler.frame(opcode: 0x8, payload: [0x03, 0xE9], allocator: channel.allocator)
        return channel.writeAndFlush(frame).flatMap { channel.close() }.recover { _ in }
    }
}

/// The protocol: handshake, then frames read in place (no accumulation for the counting
/// connections beyond the first bytes of each message and control frames).
final class WSLoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let conn: WSConn
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

    init(conn: WSConn, request: ByteBuffer, upgraded: EventLoopPromise<Void>, refresh: Bool) {
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
        if !upgradedDone, conn.state.failure == nil { conn.state.failure = WSConn.describe(error) }
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
                case .message(let opcode, let compressed, let bytes): messageEnded(context: context, opcode: opcode, compressed: compressed, bytes: bytes)
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
            context.writeAndFlush(wrapOutboundOut(Self.frame(opcode: 0xA, payload: payload, allocator: context.channel.allocator)), promise: nil)
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
        if sampledMessage(context: context, opcode: opcode, compressed: compressed, message: bytes) { conn.state.eventMessage(at: readMono) }
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
                    + String(format: " events=%d bytes=%d latency_ms_min=%.1f max=%.1f", ts.count, message.count, lat.min() ?? .nan, lat.max() ?? .nan))
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
                context.writeAndFlush(wrapOutboundOut(Self.frame(opcode: 0x1, payload: payload, allocator: context.channel.allocator)), promise: nil)
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

// MARK: - Parser of a sampled message

/// A strict JSON parser specialised for the hub's messages: validates the whole text and keeps
/// only the top-level `type`, the event timestamps (in `data` for `event`, in each element of `data`
/// for `events`) and any key naming a visitor or `event_data` at any depth.
struct HubMessageParser {
    struct Result {
        var type: String?
        var dataTimestamp: Double?
        var elementTimestamps: [Double] = []
        var elementCount = 0
        var forbiddenKeys: [String] = []
    }

    struct SyntaxError: Error {}

    private enum Role { case root, data, element, other }

    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var result = Result()

    static func parse(_ bytes: [UInt8]) throws -> Result {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = HubMessageParser(b: buffer)
            parser.whitespace()
            _ = try parser.value(.root, depth: 0)
            parser.whitespace()
            guard parser.i == buffer.count else { throw SyntaxError() }
            return parser.result
        }
    }

    private init(b: UnsafeBufferPointer<UInt8>) { self.b = b }

    private mutating func whitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// Parses a value; returns it if it is a number.
    @discardableResult
    private mutating func value(_ role: Role, depth: Int) throws -> Double? {
        guard i < b.count, depth < 64 else { throw SyntaxError() }
        switch b[i] {
        case UInt8(ascii: "{"): try object(role, depth: depth + 1)
        case UInt8(ascii: "["): try array(role, depth: depth + 1)
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: return try number()
        }
        return nil
    }

    private mutating func object(_ role: Role, depth: Int) throws {
        i += 1
        if role == .element { result.elementCount += 1 }
        whitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            whitespace()
            let raw = try scanString()
            let key: Key = raw.plain ? Key(bytes: UnsafeBufferPointer(rebasing: b[raw.range])) : Key(string: try decode(raw))
            if key.isForbidden, result.forbiddenKeys.count < 5 {
                result.forbiddenKeys.append(raw.plain ? String(decoding: UnsafeBufferPointer(rebasing: b[raw.range]), as: UTF8.self) : try decode(raw))
            }
            whitespace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw SyntaxError() }
            i += 1
            whitespace()
            switch (role, key) {
            case (.root, .type):
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw SyntaxError() }
                result.type = try decode(try scanString())
            case (.root, .data):
                try value(.data, depth: depth)
            case (.data, .timestamp):
                result.dataTimestamp = try value(.other, depth: depth)
            case (.element, .timestamp):
                if let t = try value(.other, depth: depth) { result.elementTimestamps.append(t) }
            default:
                try value(.other, depth: depth)
            }
            whitespace()
            guard i < b.count else { throw SyntaxError() }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            guard b[i] == UInt8(ascii: "}") else { throw SyntaxError() }
            i += 1
            return
        }
    }

    /// The keys that matter, recognised from their bytes without making a String.
    private enum Key: Equatable {
        case type, data, timestamp, other
        case forbidden

        var isForbidden: Bool { self == .forbidden }
        static let visitor = Array("visitor".utf8)
        static let eventData = Array("event_data".utf8)

        init(bytes k: UnsafeBufferPointer<UInt8>) {
            func equal(_ word: StaticString) -> Bool {
                k.count == word.utf8CodeUnitCount && memcmp(k.baseAddress!, word.utf8Start, k.count) == 0
            }
            // `visitor_id`, `visitorId`, `visitor`…, but not `current_visitors` or `unique_visitors`;
            // `event_data`, whatever the case.
            func lowered(_ j: Int) -> UInt8 { k[j] | 0x20 }
            if k.count >= 7, (0..<7).allSatisfy({ lowered($0) == Key.visitor[$0] }) {
                self = .forbidden
            } else if k.count == 10, (0..<10).allSatisfy({ $0 == 5 ? k[$0] == Key.eventData[$0] : lowered($0) == Key.eventData[$0] }) {
                self = .forbidden
            } else if equal("type") {
                self = .type
            } else if equal("data") {
                self = .data
            } else if equal("timestamp") {
                self = .timestamp
            } else {
                self = .other
            }
        }

        init(string: String) {
            var s = string
            self = s.withUTF8 { Key(bytes: $0) }
        }
    }

    private mutating func array(_ role: Role, depth: Int) throws {
        i += 1
        whitespace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return }
        while true {
            whitespace()
            try value(role == .data ? .element : .other, depth: depth)
            whitespace()
            guard i < b.count else { throw SyntaxError() }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            guard b[i] == UInt8(ascii: "]") else { throw SyntaxError() }
            i += 1
            return
        }
    }

    /// Skips a string (validated); its bytes between the quotes and whether it has escapes.
    private mutating func scanString() throws -> (range: Range<Int>, plain: Bool) {
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw SyntaxError() }
        i += 1
        let start = i
        var plain = true
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            if b[i] < 0x20 { throw SyntaxError() }
            if b[i] == UInt8(ascii: "\\") { plain = false; i += 2 } else { i += 1 }
        }
        guard i < b.count else { throw SyntaxError() }
        i += 1
        return (start..<(i - 1), plain)
    }

    /// The text of a scanned string, escapes decoded.
    private func decode(_ s: (range: Range<Int>, plain: Bool)) throws -> String {
        let raw = UnsafeBufferPointer(rebasing: b[s.range])
        if s.plain { return String(decoding: raw, as: UTF8.self) }
        guard let decoded = try? JSONSerialization.jsonObject(
            with: Data([UInt8(ascii: "\"")] + Array(raw) + [UInt8(ascii: "\"")]), options: [.fragmentsAllowed]) as? String
        else { throw SyntaxError() }
        return decoded
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw SyntaxError() }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw SyntaxError() }
        i += n
    }

    private mutating func number() throws -> Double {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, (0x30...0x39).contains(b[i]) else { throw SyntaxError() }
        if b[i] == 0x30 { i += 1 } else { while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 } }
        var integral = true
        if i < b.count, b[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw SyntaxError() }
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw SyntaxError() }
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
        }
        let text = UnsafeBufferPointer(rebasing: b[start..<i])
        if integral, text.count <= 18 {
            var v: Int64 = 0
            for c in text where c != UInt8(ascii: "-") { v = v * 10 + Int64(c - 0x30) }
            return Double(text.first == UInt8(ascii: "-") ? -v : v)
        }
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }
}

// MARK: - Report

struct WSLoadReport {
    let total: Int
    let clients: Int
    let stall: Int
    let rampSeconds: Double
    let holdSeconds: Double
    let atReady: [WSConnSnapshot]
    let atEnd: [WSConnSnapshot]
    let resumed: [WSConnSnapshot]
    let hubSide: [Int: HubSocketEnd]

    func print() {
        let normal = atEnd.filter { $0.role != .stalled }
        let sampled = atEnd.filter { $0.role == .sampled }
        let readyByIndex = Dictionary(uniqueKeysWithValues: atReady.map { ($0.index, $0) })
        let established = normal.filter { $0.established }
        let failed = normal.filter { !$0.established }
        let closedByServer = established.filter { $0.closedByServer }

        Swift.print("== ws-load: \(clients) clients (\(sampled.count) sampled) + \(stall) stalled; ramp-up \(String(format: "%.2f", rampSeconds)) s, held \(String(format: "%.1f", holdSeconds)) s")
        Swift.print("connections: \(established.count) established, \(failed.count) failed\(groupCounts(failed.map { $0.failure ?? "?" })), "
            + "\(closedByServer.count) closed by the server\(groupCounts(closedByServer.map { $0.closeCode.map { "code \($0)" } ?? "no close frame" }))")

        // Messages of every connection during the hold.
        var holdMessages = 0
        var holdBytes = 0
        var byType = [Int](repeating: 0, count: HubMessageType.allCases.count)
        var firstTypes: [String] = []
        var pings = 0
        var protocolErrors = 0
        for s in established {
            let r = readyByIndex[s.index]
            holdMessages += s.messages - (r?.messages ?? 0)
            holdBytes += s.payloadBytes - (r?.payloadBytes ?? 0)
            for t in byType.indices { byType[t] += s.byType[t] }
            firstTypes.append(s.firstType?.name ?? "none")
            pings += s.pings
            protocolErrors += s.protocolErrors
        }
        let n = Double(max(established.count, 1))
        Swift.print(String(
            format: "messages during the hold, per client: %.2f messages/s, %.0f bytes/s (all clients: %.0f messages/s, %.1f MB/s)",
            Double(holdMessages) / n / holdSeconds, Double(holdBytes) / n / holdSeconds,
            Double(holdMessages) / holdSeconds, Double(holdBytes) / holdSeconds / 1e6))
        Swift.print("messages by type, all clients, whole run: "
            + HubMessageType.allCases.map { "\($0.name) \(byType[$0.rawValue])" }.joined(separator: ", ")
            + "; first message\(groupCounts(firstTypes)); pings answered \(pings); protocol errors \(protocolErrors)")
        let deflating = established.filter(\.deflate).count
        let compressed = sampled.reduce(0) { $0 + $1.compressedBytes }
        let inflated = sampled.reduce(0) { $0 + $1.inflatedBytes }
        Swift.print("permessage-deflate: negotiated by \(deflating) of \(established.count) connections"
            + (compressed > 0 ? String(format: "; sampled clients' compressed messages: %.1f MB on the wire, %.1f MB inflated (%.1f×)",
                Double(compressed) / 1e6, Double(inflated) / 1e6, Double(inflated) / Double(compressed)) : ""))

        // Sampled connections: rates, events, latency, privacy.
        if !sampled.isEmpty {
            let eventsPerClient = sampled.map(\.events).sorted()
            let starts = sampled.compactMap(\.firstEventMessageAt)
            let ends = sampled.compactMap(\.lastEventMessageAt)
            let flowSeconds = starts.isEmpty ? 0 : Double(ends.max()! - starts.min()!) / 1e9
            let eventMessages = sampled.reduce(0) { $0 + $1.byType[HubMessageType.event.rawValue] + $1.byType[HubMessageType.events.rawValue] }
            let events = eventsPerClient.reduce(0, +)
            let sn = Double(sampled.count)
            Swift.print(String(
                format: "sampled clients: events received per client min %d / median %d / max %d; while events flowed (%.1f s): %.2f event messages/s and %.0f events/s per client",
                eventsPerClient.first!, eventsPerClient[eventsPerClient.count / 2], eventsPerClient.last!, flowSeconds,
                flowSeconds > 0 ? Double(eventMessages) / sn / flowSeconds : 0, flowSeconds > 0 ? Double(events) / sn / flowSeconds : 0))
            let maxAll = sampled.map(\.maxMessagesPerSecond).max() ?? 0
            let maxEvents = sampled.map(\.maxEventMessagesPerSecond).max() ?? 0
            let over = sampled.filter { $0.maxEventMessagesPerSecond > 10 }.count
            let seconds = sampled.reduce(0) { $0 + $1.eventSeconds }
            let secondsOver = sampled.reduce(0) { $0 + $1.eventSecondsOverTen }
            Swift.print("max messages in any sliding 1 s window (one client): \(maxAll) in all, \(maxEvents) carrying events"
                + " (limit 10 + heartbeats; \(over) of \(sampled.count) clients over 10 at least once;"
                + " \(secondsOver) of \(seconds) client-seconds on the clock had more than 10 event messages)")
            var latencies: [Int32] = []
            latencies.reserveCapacity(sampled.reduce(0) { $0 + $1.latencies.count })
            for s in sampled { latencies.append(contentsOf: s.latencies) }
            latencies.sort()
            func pct(_ p: Double) -> Double {
                latencies.isEmpty ? .nan : Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
            }
            let negative = latencies.prefix { $0 < -1000 }.count
            Swift.print(String(
                format: "latency over %d sampled events: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d earlier than their timestamp by > 1 ms, %d without timestamp)",
                latencies.count, pct(0.5), pct(0.9), pct(0.99), latencies.last.map { Double($0) / 1000 } ?? .nan,
                negative, sampled.reduce(0) { $0 + $1.eventsWithoutTimestamp }))
            let forbidden = Set(sampled.flatMap(\.forbiddenKeys))
            let parseErrors = sampled.reduce(0) { $0 + $1.parseErrors }
            Swift.print(forbidden.isEmpty
                ? "privacy: no message carried a visitor id or event_data (\(parseErrors) unparsable messages)"
                : "privacy: VIOLATION, keys seen: \(forbidden.sorted().joined(separator: ", ")) (\(parseErrors) unparsable messages)")
            let refreshed = sampled.filter { $0.refreshSent }
            let answered = refreshed.filter { $0.byType[HubMessageType.initialStats.rawValue] >= 2 }.count
            if !refreshed.isEmpty { Swift.print("refresh_stats answered with initial_stats: \(answered) of \(refreshed.count)") }

            let p = { (x: Double) in x.isNaN ? "nan" : String(format: "%.1f", x) }
            Swift.print("summary: established=\(established.count) failed=\(failed.count) closed_by_server=\(closedByServer.count)"
                + " events_min=\(eventsPerClient.first!) events_median=\(eventsPerClient[eventsPerClient.count / 2]) events_max=\(eventsPerClient.last!)"
                + " msgs_per_client_s=\(String(format: "%.2f", Double(holdMessages) / n / holdSeconds))"
                + " event_msgs_per_client_s=\(String(format: "%.2f", flowSeconds > 0 ? Double(eventMessages) / sn / flowSeconds : 0))"
                + " max_msgs_1s=\(maxAll) max_event_msgs_1s=\(maxEvents)"
                + " seconds_over_10=\(sampled.reduce(0) { $0 + $1.eventSecondsOverTen })/\(sampled.reduce(0) { $0 + $1.eventSeconds })"
                + " p50_ms=\(p(pct(0.5))) p90_ms=\(p(pct(0.9))) p99_ms=\(p(pct(0.99))) max_ms=\(p(latencies.last.map { Double($0) / 1000 } ?? .nan))"
                + " privacy=\(forbidden.isEmpty ? "ok" : "VIOLATION")")
        } else {
            Swift.print("summary: established=\(established.count) failed=\(failed.count) closed_by_server=\(closedByServer.count)")
        }

        // Stalled connections.
        let stalled = atEnd.filter { $0.role == .stalled }
        if !stalled.isEmpty {
            let up = stalled.filter { $0.established }
            let ended = up.filter { $0.stallEndSeen != nil }
            let after = ended.compactMap { s in s.stallEndAt.map { Double($0 - (s.stalledAt ?? $0)) / 1e9 } }.sorted()
            Swift.print("stalled clients: \(up.count) of \(stalled.count) connected; dropped by the hub during the hold: \(ended.count)"
                + groupCounts(ended.map { $0.stallEndSeen! })
                + (after.isEmpty ? "" : String(format: ", %.1f s to %.1f s after they stopped reading", after.first!, after.last!)))
            let byIndex = Dictionary(uniqueKeysWithValues: resumed.map { ($0.index, $0) })
            let closedByHub = up.compactMap { s in hubSide[s.index].map { (s, $0) } }
            if !closedByHub.isEmpty {
                let after = closedByHub.map { s, end in Double(end.at - (s.stalledAt ?? end.at)) / 1e9 }.sorted()
                let unsent = closedByHub.map { $0.1.unsent }.sorted()
                Swift.print("stalled clients whose socket the hub closed (kernel view): \(closedByHub.count) of \(up.count)"
                    + groupCounts(closedByHub.map { $0.1.what })
                    + String(format: ", %.1f s to %.1f s after they stopped reading (±1 s)", after.first!, after.last!)
                    + "; bytes left unsent in the hub's kernel buffer \(unsent.first!)–\(unsent.last!)")
            } else if !up.isEmpty {
                Swift.print("stalled clients whose socket the hub closed (kernel view): none of \(up.count)")
            }
            let stillOpen = up.filter { $0.stallEndSeen == nil }
            if !stillOpen.isEmpty {
                var outcomes: [String] = []
                var backlog: [Int] = []
                for s in stillOpen {
                    guard let r = byIndex[s.index] else { continue }
                    backlog.append(r.payloadBytes - r.bytesAtResume)
                    if let code = r.closeCode, r.closedByServer {
                        outcomes.append("close frame \(code) queued behind the backlog")
                    } else if r.closedAt != nil {
                        outcomes.append("closed without close frame")
                    } else {
                        outcomes.append("still served")
                    }
                }
                backlog.sort()
                Swift.print("stalled clients still open at the end: \(stillOpen.count); after reading again for 3 s\(groupCounts(outcomes))"
                    + (backlog.isEmpty ? "" : "; backlog read \(backlog.first!)–\(backlog.last!) bytes"))
            }
        }
    }

    /// ` (a: 3, b: 1)` or "" when empty.
    func groupCounts(_ items: [String]) -> String {
        guard !items.isEmpty else { return "" }
        var counts: [String: Int] = [:]
        for item in items { counts[item, default: 0] += 1 }
        return " (" + counts.sorted { $0.value > $1.value }.prefix(6).map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
    }
}

// MARK: - The hub's end of a connection, from /proc/net/tcp

struct HubSocketEnd: Sendable {
    let at: UInt64
    let what: String
    let unsent: Int
}

enum KernelTCPTable {
    struct Entry {
        let state: Int
        let sendQueue: Int
        let inode: Int
    }

    /// Sockets whose local port is `serverPort` and remote port one of `clientPorts`, by remote port
    /// (IPv4 loopback only: /proc/net/tcp).
    static func hubSide(serverPort: Int, clientPorts: Set<Int>) -> [Int: Entry] {
        // Read to the end: /proc files have no size.
        guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? file.readToEnd() else { return [:] }
        try? file.close()
        var out: [Int: Entry] = [:]
        // 20,000 lines with 10,000 connections, read every second while the test runs: the fixed
        // columns are looked at in place, and only the few lines wanted are split into fields.
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                defer { start = end + 1 }
                // "%4d: %08X:%04X %08X:%04X %02X %08X:%08X …": columns counted from the first colon.
                guard let colon = bytes[start..<end].firstIndex(of: UInt8(ascii: ":")), colon + 41 <= end,
                      hex(bytes, colon + 11, 4) == serverPort, let remotePort = hex(bytes, colon + 25, 4), clientPorts.contains(remotePort)
                else { continue }
                let fields = bytes[start..<end].split(separator: UInt8(ascii: " "))
                guard fields.count >= 10 else { continue }
                out[remotePort] = Entry(
                    state: hex(bytes, colon + 30, 2) ?? 0,
                    sendQueue: hex(bytes, colon + 33, 8) ?? 0,
                    inode: Int(String(decoding: fields[9], as: UTF8.self)) ?? 0)
            }
        }
        return out
    }

    /// The `count` hexadecimal digits at `offset`, if they are all there and valid.
    private static func hex(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ count: Int) -> Int? {
        guard offset + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[offset..<(offset + count)] {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = value << 4 | Int(byte - UInt8(ascii: "A") + 10)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | Int(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        return value
    }

    static func stateName(_ state: Int) -> String {
        switch state {
        case 1: "ESTABLISHED"
        case 2: "SYN_SENT"
        case 3: "SYN_RECV"
        case 4: "FIN_WAIT1"
        case 5: "FIN_WAIT2"
        case 6: "TIME_WAIT"
        case 7: "CLOSE"
        case 8: "CLOSE_WAIT"
        case 9: "LAST_ACK"
        case 10: "LISTEN"
        case 11: "CLOSING"
        default: "state \(state)"
        }
    }
}
