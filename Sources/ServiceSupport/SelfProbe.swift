import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// For processes whose work is answering HTTP (gateway, hub): the proof of life is that their own
/// listener answers `GET /healthz` with 200 — a hung event loop or handler stops the probe, and so
/// the watchdog pings. The first answer also announces `READY=1` through the ``Liveness``.
public struct SelfProbe: Service {
    let host: String
    let port: Int
    let liveness: Liveness
    let interval: Duration
    let readyStatus: String

    /// - Parameters:
    ///   - host: the listener's address; a wildcard (`0.0.0.0`, `::`, empty) is probed on the loopback.
    ///   - port: the listener's port.
    ///   - liveness: told of every successful probe.
    ///   - interval: the pause between probes.
    ///   - readyStatus: the `STATUS=` sent with `READY=1`.
    public init(host: String, port: Int, liveness: Liveness, interval: Duration = .seconds(1), readyStatus: String) {
        // A wildcard listener is reached on the loopback.
        self.host = host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host
        self.port = port
        self.liveness = liveness
        self.interval = interval
        self.readyStatus = readyStatus
    }

    /// Probes the listener every `interval` until graceful shutdown.
    public func run() async throws {
        // Cancelled at once on shutdown: no sleep holds the drain up.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if await Self.status(host: host, port: port, path: "/healthz") == 200 {
                    liveness.ready(status: readyStatus)
                    liveness.progressed()
                }
                try await Task.sleep(for: interval)
            }
        }
    }

    /// The status code of `GET path`, or nil (refused, timed out after two seconds, garbled). The
    /// blocking socket runs on a thread of its own, not on a task's executor.
    public static func status(host: String, port: Int, path: String) async -> Int? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: blockingStatus(host: host, port: port, path: path))
            }
        }
    }

    static func blockingStatus(host: String, port: Int, path: String) -> Int? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 32)
        var received = 0
        while received < 12 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, 32 - received, 0) }
            guard n > 0 else { return nil }
            received += n
        }
        // "HTTP/1.1 200 …"
        let line = String(decoding: buffer[0..<received], as: UTF8.self)
        guard line.hasPrefix("HTTP/1."), line.count >= 12 else { return nil }
        return Int(line.dropFirst(9).prefix(3))
    }
}
