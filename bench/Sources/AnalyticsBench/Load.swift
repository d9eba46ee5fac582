import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `load`: sends events to the gateway at a steady rate and nothing else (the open-loop load of
/// `freshness`, alone). Prints what was accepted, for the scripts that compare it with what came out.
///
/// Each connection is a thread with a blocking keep-alive socket: the load must cost the machine as
/// little as possible, since it shares the cores with what it measures (AsyncHTTPClient took a
/// quarter of a core for 1,000 events/s; this takes a few percent).
struct EventLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Sends click events to the gateway at a fixed rate (open loop).")
    @Option(help: "Gateway base URL (http://host:port)") var url = "http://127.0.0.1:8080"
    @Option(help: "Events per second") var rate = 1000
    @Option(help: "Seconds to send") var duration = 30
    @Option(help: "Concurrent connections") var connections = 32

    func validate() throws {
        guard rate > 0, duration > 0, connections > 0 else { throw ValidationError("--rate, --duration and --connections must be > 0") }
        guard HTTPTarget(url: url) != nil else { throw ValidationError("--url must be http://host:port") }
    }

    func run() async throws {
        let target = HTTPTarget(url: url)!
        let start = ContinuousClock.now
        let stopAt = start + .seconds(duration)
        let interval = Duration.seconds(Double(connections) / Double(rate))
        let total = Mutex(Tally())
        let finished = DispatchGroup()
        for worker in 0..<connections {
            finished.enter()
            Thread { [connections] in
                // Each connection sends its share of the rate on a fixed schedule: a slow answer does
                // not lower the offered rate unless it takes longer than the interval.
                var tally = Tally()
                var connection: HTTPConnection?
                var next = start + interval * (Double(worker) / Double(connections))
                var i = worker
                while next < stopAt {
                    Thread.sleep(forTimeInterval: max(0, seconds(next - ContinuousClock.now)))
                    i += connections
                    let body = #"{"event_type":"click","event_data":{"button":"cta","n":\#(i)},"page_url":"https://example.test/page/\#(i % 50)?q=1"}"#
                    let sent = ContinuousClock.now
                    if connection == nil { connection = HTTPConnection(target) }
                    if let status = connection?.post(path: "/api/analytics/event", json: body) {
                        if status == 201 { tally.accepted += 1 } else { tally.refused += 1 }
                        tally.latencies.append(seconds(ContinuousClock.now - sent) * 1000)
                    } else {
                        // No answer (refused, reset, timed out): the event may or may not have been
                        // accepted; a new connection for the next one.
                        tally.failed += 1
                        connection = nil
                    }
                    next += interval
                    if ContinuousClock.now > next + .seconds(1) {
                        tally.behind += 1
                        next = ContinuousClock.now
                    }
                }
                total.withLock { $0.merge(tally) }
                finished.leave()
            }.start()
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { done.resume() }
        }
        let elapsed = seconds(ContinuousClock.now - start)
        let results = total.withLock { $0 }
        let latencies = results.latencies.sorted()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(String(
            format: "load: %d events/s requested for %d s over %d connections: %d accepted (%.0f/s), %d other status, %d failed; answer p50 %.2f ms, p99 %.2f ms",
            rate, duration, connections, results.accepted, Double(results.accepted) / elapsed, results.refused, results.failed,
            pct(0.5), pct(0.99)) + (results.behind > 0 ? " (fell more than 1 s behind \(results.behind) times)" : ""))
        print("accepted=\(results.accepted)")
    }

    struct Tally: Sendable {
        var accepted = 0
        var refused = 0
        var failed = 0
        var behind = 0
        var latencies: [Double] = []

        mutating func merge(_ other: Tally) {
            accepted += other.accepted
            refused += other.refused
            failed += other.failed
            behind += other.behind
            latencies += other.latencies
        }
    }
}

/// `http://host:port` of the gateway.
struct HTTPTarget: Sendable {
    var host: String
    var port: Int

    init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let parts = rest.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
        host = String(parts[0])
        self.port = port
    }
}

/// One blocking HTTP/1.1 keep-alive connection, owned by one thread; the socket is closed in deinit.
final class HTTPConnection {
    private let fd: Int32
    private let host: String
    private var buffer = [UInt8](repeating: 0, count: 8192)

    init?(_ target: HTTPTarget) {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        host = "\(target.host):\(target.port)"
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Sends the request and reads the whole answer; its status, or nil if there was none.
    func post(path: String, json: String) -> Int? {
        let request = Array(
            "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
                .utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return nil }
            sent += n
        }
        // Headers up to the blank line, then Content-Length bytes of body.
        var received = 0
        var headerEnd: Int?
        var contentLength = 0
        while true {
            if received == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            guard n > 0 else { return nil }
            received += n
            if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: buffer[..<received]) {
                headerEnd = end + 4
                let head = String(decoding: buffer[..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let headerEnd, received >= headerEnd + contentLength {
                // "HTTP/1.1 201 Created"
                let status = buffer[9..<min(12, received)]
                return Int(String(decoding: status, as: UTF8.self))
            }
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        var i = bytes.startIndex
        while i + pattern.count <= bytes.endIndex {
            if bytes[i] == pattern[0], bytes[i..<i + pattern.count].elementsEqual(pattern) { return i }
            i += 1
        }
        return nil
    }
}
