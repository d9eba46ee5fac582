import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP port for a test server that was free a moment ago on 127.0.0.1. Chosen below the
/// kernel's ephemeral range: a port handed out by binding port 0 comes from that range, where any
/// client connection of the tests may take it as its local port before the server binds it (a
/// PostgreSQL failed to start with "Address already in use" that way). Never the same twice.
public enum FreePort {
    private static let handedOut = Mutex<Set<Int>>([])

    public static func next() -> Int {
        let ephemeralLow = ephemeralRange().lowerBound
        if ephemeralLow > 12_000 {
            for _ in 0..<2000 {
                let port = Int.random(in: 10_000..<ephemeralLow)
                let fresh = handedOut.withLock { $0.insert(port).inserted }
                if fresh, isFree(port) { return port }
            }
        }
        return ephemeral()
    }

    /// `/proc/sys/net/ipv4/ip_local_port_range` (Linux's default 32768–60999 elsewhere).
    static func ephemeralRange() -> ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32768...60999 }
        return bounds[0]...bounds[1]
    }

    /// A port the kernel picks (bound to port 0, then released).
    static func ephemeral() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket() failed")
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(bound == 0, "bind() failed")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension FreePort {
    /// Starts a server, on another port if its own was taken between choosing and binding it
    /// (a port is only known free until something binds it).
    public static func startingOnAFreePort(_ port: borrowing Mutex<Int>, start: () async throws -> Void) async throws {
        for attempt in 1... {
            do {
                return try await start()
            } catch  where attempt < 5 && "\(error)".contains("Address already in use") {
                port.withLock { $0 = next() }
            }
        }
    }

    /// The first of `count` consecutive ports that were all free a moment ago (a supervisor gives
    /// its workers the admin ports above its own).
    public static func block(_ count: Int) -> Int {
        for _ in 0..<200 {
            let base = next()
            guard base + count <= 65535 else { continue }
            let rest = (base + 1)..<(base + count)
            let fresh = handedOut.withLock { taken in
                guard rest.allSatisfy({ !taken.contains($0) }) else { return false }
                taken.formUnion(rest)
                return true
            }
            if fresh, rest.allSatisfy({ isFree($0) }) { return base }
        }
        fatalError("no block of \(count) free ports")
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
