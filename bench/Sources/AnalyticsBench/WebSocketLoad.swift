import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `ws-load`: many WebSocket dashboards on the hub at once.
///
/// The client is written directly on NIO (a hand-rolled RFC 6455 handshake and frame reader, no
/// HTTP pipeline and no task per connection), and by default the counting connections on an epoll
/// set of their own (`CountingConnections`), so that 10,000 connections cost little next to the hub
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
    @Flag(
        inversion: .prefixedNo, help: "Counting connections on a thread and an epoll set of their own instead of NIO (CountingConnections)")
    var rawCounting = true

    func validate() throws {
        guard clients >= 0, stall >= 0, clients + stall > 0 else { throw ValidationError("need at least one connection") }
        guard connectRate > 0, duration >= 0 else { throw ValidationError("--connect-rate must be > 0, --duration >= 0") }
        guard sampled >= 0 else { throw ValidationError("--sampled must be >= 0") }
    }

    func run() async throws {
        let target = try WebSocketTarget(url: url, origin: origin, deflate: deflate)
        let group: any EventLoopGroup =
            threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        let sampledCount = min(sampled, clients)
        let stride = sampledCount > 0 ? max(1, clients / sampledCount) : Int.max
        func role(_ i: Int) -> WebSocketLoadConnection.Role {
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
        var pending: [EventLoopFuture<WebSocketLoadConnection>] = []
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
            let conn = WebSocketLoadConnection.open(index: i, role: role(i), target: target, on: group.next(), refresh: refresh)
            if trace != nil, i == 0, sampledCount > 0 { _ = conn.map { $0.trace = [] } }
            pending.append(conn)
        }
        var conns: [WebSocketLoadConnection] = []
        conns.reserveCapacity(total)
        for future in pending { conns.append(try await future.get()) }
        await counting?.connected()
        let rampEnd = ContinuousClock.now
        let atReady = await snapshot(conns, counting)
        let established = atReady.filter { $0.established }.count
        let rampSeconds = seconds(rampEnd - rampStart)
        // Written at once (stdout is buffered when redirected): scripts wait for this line.
        FileHandle.standardOutput.write(
            Data(
                String(
                    format: "ready: %d of %d connections established in %.2f s (%.0f connections/s)\n",
                    established, total, rampSeconds, Double(established) / max(rampSeconds, 0.001)
                ).utf8))
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
        let stalledPorts =
            stalled.isEmpty
            ? [:]
            : Dictionary(
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
                        what: entry.map { "\($0.inode == 0 ? "closed, orphaned" : "open") in \(KernelTCPTable.stateName($0.state))" }
                            ?? "gone",
                        unsent: entry?.sendQueue ?? 0)
                }
            }
            if progress > 0, ContinuousClock.now - previousAt >= .seconds(progress) {
                let now = await snapshot(conns, counting)
                let dt = seconds(ContinuousClock.now - previousAt)
                let messages = now.reduce(0) { $0 + $1.messages } - previous.reduce(0) { $0 + $1.messages }
                let bytes = now.reduce(0) { $0 + $1.payloadBytes } - previous.reduce(0) { $0 + $1.payloadBytes }
                let open = now.filter { $0.established && $0.closedAt == nil }.count
                log(
                    String(
                        format: "t=%.0f s: %d open, %.0f messages/s, %.1f MB/s received in all",
                        seconds(ContinuousClock.now - holdStart), open, Double(messages) / dt, Double(bytes) / dt / 1e6))
                previous = now
                previousAt = .now
            }
        }
        let holdSeconds = seconds(ContinuousClock.now - holdStart)
        let atEnd = await snapshot(conns, counting)

        // The stalled connections that still look open read again: whatever the hub queued (and its
        // close frame, if it gave up on them) arrives now.
        var resumed: [WebSocketConnectionSnapshot] = []
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

        WebSocketLoadReport(
            total: total, clients: clients, stall: stall, rampSeconds: rampSeconds, holdSeconds: holdSeconds,
            atReady: atReady, atEnd: atEnd, resumed: resumed, hubSide: hubSide
        ).print()
    }

    func snapshot(_ conns: [WebSocketLoadConnection], _ counting: CountingConnections? = nil) async -> [WebSocketConnectionSnapshot] {
        var out = counting?.snapshots() ?? []
        out.reserveCapacity(conns.count)
        let futures = conns.map { conn in conn.loop.submit { conn.snapshot() } }
        for future in futures { if let s = try? await future.get() { out.append(s) } }
        return out
    }

    func closeAll(_ conns: [WebSocketLoadConnection]) async {
        let futures = conns.map { conn in conn.loop.flatSubmit { conn.closeByClient() } }
        for future in futures { _ = try? await future.get() }
    }

    func log(_ line: String) {
        FileHandle.standardError.write(Data("ws-load: \(line)\n".utf8))
    }
}
