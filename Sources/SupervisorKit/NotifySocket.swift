import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's own sd_notify socket: a Unix datagram socket its workers send `READY=1`,
/// `WATCHDOG=1`, `STATUS=…` to (their `NOTIFY_SOCKET`). The kernel attaches each sender's pid
/// (`SO_PASSCRED`), so a message is attributed to a worker whatever it claims. The one owner of the
/// socket: it is closed and its file removed in `deinit`. ``Supervisor`` polls it on every tick.
public final class NotifySocket {
    /// The socket's file: the `NOTIFY_SOCKET` given to the workers.
    public let path: String
    private let fd: Int32

    /// One datagram from a worker.
    public struct Message: Sendable, Equatable {
        /// The sender's pid, as the kernel reports it.
        public let pid: pid_t
        /// The datagram's `KEY=value` lines (`READY` → `1`, …); lines without `=` are ignored.
        public let assignments: [String: String]
    }

    /// Creates and binds the socket, non-blocking, replacing any file already at `path`.
    /// - Throws: ``SupervisorError`` with the code ``SupervisorError/Code/notifySocket`` when the
    ///   socket cannot be made or bound (a path too long for a Unix socket, a directory not writable).
    public init(path: String) throws(SupervisorError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .notifySocket(path, String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw .notifySocket(path, "the path is too long for a Unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .notifySocket(path, reason)
        }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size))
        // Workers ping often; a burst must not be lost to a small receive buffer.
        var size: Int32 = 1 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
        self.path = path
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Every message waiting, without blocking, oldest first. A datagram without the sender's
    /// credentials is dropped, and one longer than 4 KiB is cut.
    public func receiveAll() -> [Message] {
        var messages: [Message] = []
        var payload = [UInt8](repeating: 0, count: 4096)
        // cmsghdr (16 bytes on 64-bit Linux) followed by a struct ucred (pid, uid, gid), 8-aligned.
        var control = [UInt8](repeating: 0, count: 64)
        while true {
            let (received, pid): (Int, pid_t?) = payload.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBytes.baseAddress
                        header.msg_controllen = controlBytes.count
                        let n = recvmsg(fd, &header, 0)
                        guard n >= 0 else { return (n, nil) }
                        return (n, Self.senderPID(controlBytes, length: Int(header.msg_controllen)))
                    }
                }
            }
            if received < 0 { break }  // EAGAIN: nothing more
            guard let pid else { continue }
            let text = String(decoding: payload[0..<received], as: UTF8.self)
            var assignments: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let pair = line.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { assignments[String(pair[0])] = String(pair[1]) }
            }
            messages.append(Message(pid: pid, assignments: assignments))
        }
        return messages
    }

    /// `SCM_CREDENTIALS` (2 on Linux; glibc defines it in an enum Swift does not import).
    static let credentialsMessageType: Int32 = 2

    static func senderPID(_ control: UnsafeMutableRawBufferPointer, length: Int) -> pid_t? {
        var offset = 0
        let headerSize = 16
        while offset + headerSize <= length {
            let cmsgLength = control.load(fromByteOffset: offset, as: Int.self)
            let level = control.load(fromByteOffset: offset + 8, as: Int32.self)
            let type = control.load(fromByteOffset: offset + 12, as: Int32.self)
            if level == SOL_SOCKET && type == Self.credentialsMessageType && cmsgLength >= headerSize + 12 {
                return control.load(fromByteOffset: offset + headerSize, as: pid_t.self)
            }
            guard cmsgLength > 0 else { break }
            offset += (cmsgLength + 7) & ~7
        }
        return nil
    }
}
