import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP port that was free a moment ago on 127.0.0.1 (bound to port 0, then released).
public enum FreePort {
    public static func next() -> Int {
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
    /// The first of `count` consecutive ports that were all free a moment ago (a supervisor gives
    /// its workers the admin ports above its own).
    public static func block(_ count: Int) -> Int {
        for _ in 0..<200 {
            let base = next()
            guard base + count <= 65535 else { continue }
            if (1..<count).allSatisfy({ isFree(base + $0) }) { return base }
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

/// Where the package's executables are: beside the test bundle in `.build/<triple>/<configuration>`.
public enum BuildProducts {
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["ANALYTICS_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // The test binary sits inside `X.xctest/` on some platforms.
        while dir.lastPathComponent.hasSuffix(".xctest") || dir.lastPathComponent == "MacOS" || dir.lastPathComponent == "Contents" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    public static func executable(_ name: String) -> URL {
        directory.appendingPathComponent(name)
    }
}

/// A temporary directory removed when the value is released (or kept with `ANALYTICS_KEEP_TEST_DIRS=1`).
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ label: String = "analytics-test") {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        self.url = url
    }

    public var path: String { url.path }

    deinit {
        if ProcessInfo.processInfo.environment["ANALYTICS_KEEP_TEST_DIRS"] != "1" {
            try? FileManager.default.removeItem(at: url)
        }
    }
}
