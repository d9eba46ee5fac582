import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection for tests that need to control the bytes of HTTP requests (pipelining,
/// chunked bodies, `Connection: close`), with a receive timeout.
public final class TCPTestConnection: Sendable {
    let fd: Int32

    /// - Parameters:
    ///   - receiveTimeout: generous: a loaded test machine may take seconds to answer.
    ///   - source: the loopback address to connect from (any of 127.0.0.0/8), so that a test can be
    ///     a client of its own, apart from the connections its HTTP client keeps to 127.0.0.1.
    public init(port: Int, receiveTimeout: Duration = .seconds(15), from source: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard Self.bind(fd, to: source), Self.connect(fd, toLoopbackPort: port) else {
            close(fd)
            throw TestSupportError("connect to port \(port) failed")
        }
        var timeout = timeval(tv_sec: Int(receiveTimeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestSupportError("send failed") }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Ends our side of the connection (a FIN), as a client that has sent everything may do.
    public func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// What one read brings (up to 64 KiB), waiting up to the receive timeout; nil on timeout or
    /// error, empty when the server closed the connection.
    public func receiveSome() async -> String? {
        await withCheckedContinuation { continuation in
            Thread {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                var n: Int
                repeat { n = recv(self.fd, &buffer, buffer.count, 0) } while n < 0 && errno == EINTR
                continuation.resume(returning: n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self))
            }.start()
        }
    }

    /// Ends the connection both ways, as a client that leaves (the descriptor is closed with the object).
    public func disconnect() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Whether the server has closed the connection (read as end of input, or reset), without
    /// waiting; what it sent before is left unread.
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if n == 0 { return true }
        if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        // Data waits: read past it to see whether the end follows.
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let m = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if m == 0 { return true }
            if m < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    /// Everything received until the server closes the connection; nil if it did not close it
    /// before the receive timeout. Reads on a thread of its own: blocking one of Swift's few
    /// task-pool threads could starve the server under test.
    public func readUntilClosed() async -> String? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingReadUntilClosed()) }.start()
        }
    }

    private func blockingReadUntilClosed() -> String? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return String(decoding: received, as: UTF8.self) }
            if n < 0 {
                // A signal to this thread (a test's child process ending) is not the server's doing.
                if errno == EINTR { continue }
                return nil
            }
            received += buffer[0..<n]
        }
    }

    /// The status codes of the HTTP responses in a received text, in order. (A status line may
    /// follow the previous body directly: bodies end without a line break.)
    public static func statuses(in text: String) -> [Int] {
        text.matches(of: #/HTTP/1\.1 ([0-9]{3}) /#).compactMap { Int($0.1) }
    }

    /// Binds a TCP socket to an address of this machine and any free port.
    static func bind(_ fd: Int32, to source: String) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(source)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Connects a TCP socket to 127.0.0.1:port; false if refused.
    public static func connect(_ fd: Int32, toLoopbackPort port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    deinit { close(fd) }
}
