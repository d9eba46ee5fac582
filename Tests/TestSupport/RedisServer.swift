import AnalyticsCore
import Foundation
import Logging
import RedisClient
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` on a free port in a temporary directory, for one test or suite.
/// Never the machine's own Redis: tests must not depend on port 6379.
public final class RedisServer: Sendable {
    /// Chosen anew if another process took it first (see `FreePort.startingOnAFreePort`).
    private let chosenPort: Mutex<Int>
    public var port: Int { chosenPort.withLock { $0 } }
    public let directory: TemporaryDirectory
    private let persistent: Bool
    private let current: Mutex<ChildProcess?>

    public init(port: Int = FreePort.next(), appendOnly: Bool = false) async throws {
        self.chosenPort = Mutex(port)
        self.directory = TemporaryDirectory("redis")
        self.persistent = appendOnly
        self.current = Mutex(nil)
        try await FreePort.startingOnAFreePort(chosenPort) { try await self.start() }
    }

    public var endpoint: RedisEndpoint { .tcp(port: port) }
    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// Starts (or restarts) the server on the same port and directory, and waits until it answers.
    public func start() async throws {
        let port = port
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--save", "",
            "--appendonly", persistent ? "yes" : "no", "--daemonize", "no", "--protected-mode", "no",
        ]
        if persistent { arguments += ["--appendfsync", "everysec"] }
        let process = try ChildProcess(
            executable: URL(fileURLWithPath: Self.serverPath), arguments: arguments, logDirectory: directory.url, name: "redis")
        current.withLock { $0 = process }
        let ready = await eventually(timeout: .seconds(10)) { Self.ping(port: port) }
        guard ready else { throw TestSupportError("redis-server did not start on port \(port): \(process.output)") }
    }

    /// Stops the server (SIGTERM, as an operator would) and waits for it to exit.
    public func stop() async {
        let process = current.withLock { p -> ChildProcess? in
            defer { p = nil }
            return p
        }
        _ = await process?.terminate()
    }

    /// Kills the server outright.
    public func kill() async {
        let process = current.withLock { p -> ChildProcess? in
            defer { p = nil }
            return p
        }
        process?.signal(SIGKILL)
        _ = await process?.waitForExit()
    }

    public func client(name: String = "test") -> RedisClient {
        var configuration = RedisClient.Configuration(endpoint: endpoint, name: name)
        configuration.commandTimeout = .seconds(10)
        configuration.queueTimeout = .seconds(10)
        return RedisClient(configuration: configuration, logger: Logger(label: "test.redis"))
    }

    static var serverPath: String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/redis-server"
    }

    /// A PING over a plain socket, so that readiness does not depend on the client under test.
    static func ping(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard TCPTestConnection.connect(fd, toLoopbackPort: port) else { return false }
        let ping = Array("PING\r\n".utf8)
        guard write(fd, ping, ping.count) == ping.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 && String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix("+PONG")
    }

    deinit {
        current.withLock { $0?.signal(SIGKILL) }
    }
}
