import Foundation
import HTTPTypes
import HummingbirdWSClient
import HummingbirdWSCompression
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A client that completes the WebSocket handshake itself (with exactly the headers given) and then
/// reads only when asked, never answering pings: a stalled or dead peer, or a precise probe.
/// Its socket is closed when released.
public final class SilentWebSocketPeer: Sendable {
    public let fd: Int32
    public let upgraded: Bool
    /// The server's answer to the upgrade: status line and headers.
    public let responseHead: String

    /// `extensions`: a `Sec-WebSocket-Extensions` offer.
    public init(
        port: Int, path: String = "/ws/analytics", origin: String? = nil, extensions: String? = nil, receiveBuffer: Int32 = 4096
    ) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var size = receiveBuffer
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        guard TCPTestConnection.connect(fd, toLoopbackPort: port) else {
            close(fd)
            throw TestSupportError("connect failed")
        }
        let request =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (origin.map { "Origin: \($0)\r\n" } ?? "")
            + (extensions.map { "Sec-WebSocket-Extensions: \($0)\r\n" } ?? "")
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        _ = Array(request.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // Read only the response head.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) && read(fd, &byte, 1) == 1 { head.append(byte) }
        self.fd = fd
        self.responseHead = String(decoding: head, as: UTF8.self)
        self.upgraded = responseHead.hasPrefix("HTTP/1.1 101")
    }

    /// Reads one frame (waiting up to `timeout`): its opcode (1 text, 8 close, 9 ping), payload, and
    /// whether it says the message is compressed (RSV1).
    public func readFrame(timeout: Duration = .seconds(5)) -> (opcode: UInt8, payload: [UInt8], compressed: Bool)? {
        let deadline = ContinuousClock.now + timeout
        func readExactly(_ count: Int) -> [UInt8]? {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: count)
            while bytes.count < count {
                guard ContinuousClock.now < deadline else { return nil }
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 50) >= 0 else { return nil }
                if descriptor.revents == 0 { continue }
                let n = read(fd, &chunk, count - bytes.count)
                guard n > 0 else { return nil }
                bytes.append(contentsOf: chunk[0..<n])
            }
            return bytes
        }
        guard let head = readExactly(2) else { return nil }
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            guard let extended = readExactly(2) else { return nil }
            length = Int(extended[0]) << 8 | Int(extended[1])
        } else if length == 127 {
            guard let extended = readExactly(8) else { return nil }
            length = extended.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let payload = readExactly(length) else { return nil }
        return (head[0] & 0x0F, payload, head[0] & 0x40 != 0)
    }

    /// The close code of the next close frame, skipping other frames.
    public func closeCode(timeout: Duration = .seconds(5)) -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, let frame = readFrame(timeout: deadline - ContinuousClock.now) {
            if frame.opcode == 8 { return frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : 1005 }
        }
        return nil
    }

    /// Ends the connection both ways, as a client that leaves (the descriptor closes with the object).
    public func disconnect() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Whether the server has closed the connection (reads what is pending, without blocking).
    public var closedByServer: Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    deinit {
        close(fd)
    }
}
