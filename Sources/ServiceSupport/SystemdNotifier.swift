import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify protocol: datagrams such as `READY=1` or `WATCHDOG=1` to the Unix socket named by
/// `NOTIFY_SOCKET` (a leading `@` is the abstract namespace). Under the supervisor that socket is
/// the supervisor's; under a systemd unit of its own, systemd's. Without `NOTIFY_SOCKET`, nothing
/// is sent. Processes use it through ``Liveness``; the supervisor also sends its own `STATUS=` lines.
public final class SystemdNotifier: Sendable {
    /// `NOTIFY_SOCKET`, as given.
    public let socketPath: String
    /// Half of `WATCHDOG_USEC`, the longest systemd advises between pings (nil when no watchdog is
    /// asked for, or it is for another process). ``watchdog()`` pings up to twice as often, at most
    /// once per quarter of the timeout, to keep a margin.
    public let watchdogPingInterval: Duration?
    private let lastPing = Mutex<ContinuousClock.Instant?>(nil)

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`; nil without `NOTIFY_SOCKET`.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        socketPath = path
        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 {
            // WATCHDOG_PID, when set, names the process the watchdog is for.
            if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() {
                interval = nil
            } else {
                interval = .microseconds(usec / 2)
            }
        }
        watchdogPingInterval = interval
    }

    /// Sends `state` (newline-separated assignments) as one datagram, on a socket of its own so that
    /// any thread may call it; false if it could not be delivered.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sockaddr, length) }
            }
        }
        return sent == message.count
    }

    /// `READY=1`, with a `STATUS=` line if given. ``Liveness/ready(status:)`` sends it only once.
    public func ready(status: String? = nil) {
        notify("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// `STATUS=…`: one line shown by `systemctl status`.
    public func status(_ text: String) {
        notify("STATUS=\(text)")
    }

    /// `STOPPING=1`: the process has begun to drain.
    public func stopping() {
        notify("STOPPING=1")
    }

    /// Called from a process's real work loop, as often as it likes: sends `WATCHDOG=1` at most once
    /// per quarter of `WATCHDOG_USEC`, and nothing when no watchdog is asked for.
    public func watchdog() {
        guard let interval = watchdogPingInterval else { return }
        let now = ContinuousClock.now
        let due = lastPing.withLock { last -> Bool in
            // Pinging at a quarter of the timeout keeps a margin for a loop iteration in progress.
            if let last, now - last < interval / 2 { return false }
            last = now
            return true
        }
        if due { notify("WATCHDOG=1") }
    }
}
