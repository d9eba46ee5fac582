import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

public final class ServiceProcess: Sendable {
    public let executable: ServiceExecutable
    public let environment: [String: String]
    public let directory: URL
    private let current: Mutex<ChildProcess?>

    public init(_ executable: ServiceExecutable, environment: [String: String], directory: URL) throws {
        self.executable = executable
        // The state a process keeps (the generated secret) goes in the test's directory, not in
        // the checkout the tests run from.
        self.environment = environment.merging(["ANALYTICS_DATA_DIR": directory.path + "/data"]) { given, _ in given }
        self.directory = directory
        self.current = Mutex(nil)
        try start()
    }

    public func start() throws {
        let child = try ChildProcess(
            executable: BuildProducts.executable(executable.rawValue), environment: environment, logDirectory: directory,
            name: executable.rawValue)
        current.withLock { $0 = child }
    }

    public var process: ChildProcess? { current.withLock { $0 } }

    /// SIGKILL: no graceful anything, as a crash.
    public func crash() async {
        let child = current.withLock { $0 }
        child?.signal(SIGKILL)
        _ = await child?.waitForExit()
    }

    /// SIGTERM, and the exit status once drained (SIGKILL after `timeout`).
    @discardableResult
    public func stop(timeout: Duration = .seconds(30)) async -> Int32? {
        await current.withLock { $0 }?.terminate(timeout: timeout)
    }

    public var output: String { current.withLock { $0 }?.output ?? "" }
}
