import CEpoll
import Foundation
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// ws-load's counting connections (all but the sampled and stalled ones) without NIO: connected
/// and upgraded by a thread of their own with blocking calls, then read by one thread over one epoll
/// set, one `read` per ready socket. Each counts its messages by type from their first bytes,
/// answers pings and notices when the hub closes it, like the NIO connections. On one machine the
/// load client takes its CPU from the hub it measures, which dashboards on other machines would
/// not: this costs less CPU per message received than NIO connections (`--no-raw-counting`).
final class CountingConnections: Sendable {
    /// One connection's socket and what it saw; touched only with `state` locked.
    private final class Connection {
        let fd: Int32
        var snapshot: WebSocketConnectionSnapshot
        var frames = FrameReader(keepsWholeMessages: false)
        var closeSent = false

        init(fd: Int32, snapshot: WebSocketConnectionSnapshot) {
            self.fd = fd
            self.snapshot = snapshot
        }
    }

    private struct State: ~Copyable {
        var open: [Int32: Connection] = [:]
        /// Closed, or never connected.
        var ended: [WebSocketConnectionSnapshot] = []
        var connecting = true
        var closingByClient = false
        var stopping = false
    }

    private let target: WebSocketTarget
    private let epoll: Int32
    private let state = Mutex(State())
    private let readerDone = DispatchSemaphore(value: 0)

    init(target: WebSocketTarget) {
        self.target = target
        epoll = cepoll_create()
        precondition(epoll >= 0, "epoll_create1: \(String(cString: strerror(errno)))")
        Thread.detachNewThread { [self] in
            readLoop()
            readerDone.signal()
        }
    }

    deinit { close(epoll) }

    /// Opens the connections `indices` on a thread of their own, `indices[k]` at `rampStart` +
    /// index / `connectRate` (the NIO connections' schedule).
    func connect(indices: [Int], rampStart: ContinuousClock.Instant, connectRate: Int) {
        Thread.detachNewThread { [self] in
            for index in indices {
                let due = rampStart + .seconds(Double(index) / Double(connectRate))
                let wait = due - .now
                if wait > .zero { Thread.sleep(forTimeInterval: seconds(wait)) }
                open(index: index)
            }
            state.withLock { $0.connecting = false }
        }
    }

    /// Waits until every connection attempt has ended.
    func connected() async {
        while state.withLock({ $0.connecting }) { try? await Task.sleep(for: .milliseconds(20)) }
    }

    func snapshots() -> [WebSocketConnectionSnapshot] {
        state.withLock { $0.ended + $0.open.values.map(\.snapshot) }
    }

    /// Close frame 1001 (going away), then the socket, for every connection still open; stops the reader.
    func closeAll() {
        state.withLock { state in
            state.closingByClient = true
            for connection in state.open.values {
                send(WebSocketLoadHandler.frame(opcode: 0x8, payload: [0x03, 0xE9], allocator: .init()), on: connection.fd)
                connection.snapshot.closedAt = monotonicNanoseconds()
                close(connection.fd)
                state.ended.append(connection.snapshot)
            }
            state.open.removeAll()
            state.stopping = true
        }
        readerDone.wait()
    }

    // MARK: Connecting (blocking, on the connecting thread)

    private func open(index: Int) {
        var snapshot = WebSocketConnectionSnapshot(index: index, role: .counting)
        let fd = socket(Int32(target.address.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            snapshot.failure = "socket: \(String(cString: strerror(errno)))"
            state.withLock { $0.ended.append(snapshot) }
            return
        }
        var leftover: [UInt8] = []
        if let failure = upgrade(fd, deflate: &snapshot.deflate, leftover: &leftover) {
            close(fd)
            snapshot.failure = failure
            state.withLock { $0.ended.append(snapshot) }
            return
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        snapshot.established = true
        snapshot.connectedAt = monotonicNanoseconds()
        state.withLock { state in
            let connection = Connection(fd: fd, snapshot: snapshot)
            connection.frames.deflateNegotiated = snapshot.deflate
            state.open[fd] = connection
            if !leftover.isEmpty {
                leftover.withUnsafeBytes { consume($0, on: connection, at: snapshot.connectedAt, state: state) }
            }
            _ = cepoll_add(epoll, fd)
        }
    }

    /// Connects and upgrades; nil once upgraded (`leftover`: frames that came with the answer), else why not.
    private func upgrade(_ fd: Int32, deflate: inout Bool, leftover: inout [UInt8]) -> String? {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = target.address.withSockAddr { address, length in Glibc.connect(fd, address, socklen_t(length)) }
        guard connected == 0 else {
            return errno == EAGAIN || errno == EINPROGRESS ? "Connect timeout (10 s)" : String(cString: strerror(errno))
        }
        guard send(target.request.readableBytesView, on: fd) else { return "handshake: \(String(cString: strerror(errno)))" }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                return n == 0 ? "closed during the handshake" : errno == EAGAIN ? "handshake timeout" : String(cString: strerror(errno))
            }
            let before = answer.count
            answer += chunk[..<n]
            switch UpgradeAnswer.read(answer, searchingFrom: before) {
            case .incomplete: continue
            case .refused(let reason): return reason
            case .upgraded(let headEnd, let deflates):
                deflate = deflates
                leftover = Array(answer[headEnd...])
                return nil
            }
        }
    }

    /// Writes all of `bytes` (small control frames; the socket has room); false on error.
    @discardableResult
    private func send(_ bytes: some Collection<UInt8>, on fd: Int32) -> Bool {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let n = array.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private func send(_ frame: ByteBuffer, on fd: Int32) { send(frame.readableBytesView, on: fd) }

    // MARK: Reading (on the reader thread)

    private func readLoop() {
        var ready = [Int32](repeating: 0, count: 1024)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = ready.withUnsafeMutableBufferPointer { cepoll_wait(epoll, $0.baseAddress, Int32($0.count), 50) }
            let now = monotonicNanoseconds()
            let stop = state.withLock { state -> Bool in
                guard !state.stopping else { return true }
                for fd in ready.prefix(max(0, Int(count))) {
                    guard let connection = state.open[fd] else { continue }
                    let n = buffer.withUnsafeMutableBytes { read(connection.fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        buffer.withUnsafeBytes {
                            consume(UnsafeRawBufferPointer(rebasing: $0[..<n]), on: connection, at: now, state: state)
                        }
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        end(connection, at: now, state: &state)
                    }
                }
                return false
            }
            if stop { return }
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer, on connection: Connection, at now: UInt64, state: borrowing State) {
        let closingByClient = state.closingByClient
        connection.frames.consume(bytes) { item in
            switch item {
            case .message(_, let compressed, let prefix):
                connection.snapshot.countUnparsed(compressed: compressed, prefix: prefix, at: now)
            case .control(0x9, let payload):  // ping
                connection.snapshot.pings += 1
                send(WebSocketLoadHandler.frame(opcode: 0xA, payload: payload, allocator: .init()), on: connection.fd)
            case .control(0x8, let payload):  // close: answer it, then the hub closes the connection (read returns 0)
                connection.snapshot.closeCode = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                if !closingByClient { connection.snapshot.closedByServer = true }
                if !connection.closeSent {
                    connection.closeSent = true
                    send(WebSocketLoadHandler.frame(opcode: 0x8, payload: Array(payload.prefix(2)), allocator: .init()), on: connection.fd)
                }
            case .control(0xA, _): break  // pong
            case .control: connection.snapshot.protocolErrors += 1
            }
        }
        connection.snapshot.payloadBytes = connection.frames.payloadBytes
        connection.snapshot.protocolErrors += connection.frames.takeProtocolErrors()
    }

    private func end(_ connection: Connection, at now: UInt64, state: inout State) {
        connection.snapshot.closedAt = now
        if !state.closingByClient { connection.snapshot.closedByServer = true }
        _ = cepoll_remove(epoll, connection.fd)
        close(connection.fd)
        state.open[connection.fd] = nil
        state.ended.append(connection.snapshot)
    }
}
