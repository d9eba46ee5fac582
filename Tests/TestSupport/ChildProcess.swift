import Foundation
import ServiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A process started by a test, with its output in a log file of the test's directory. Killed when
/// released, so a failing test leaves nothing running.
///
/// Started with `posix_spawn` and every signal reset to its default and unblocked: the test runner
/// blocks or ignores some signals, and `Foundation.Process` would pass that on (a child that then
/// survives SIGTERM).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logFile: URL
    public let name: String
    private let exitStatus = Mutex<Int32?>(nil)

    public init(
        executable: URL, arguments: [String] = [], environment: [String: String] = [:], logDirectory: URL, name: String? = nil
    ) throws {
        let name = name ?? executable.lastPathComponent
        self.name = name
        let log = logDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6)).log")
        self.logFile = log

        var env = ProcessInfo.processInfo.environment
        // Children of the tests must not inherit the runner's own settings by accident.
        env = env.filter { !$0.key.hasPrefix("ANALYTICS_") }
        for (k, v) in environment { env[k] = v }

        // The child is killed when the test runner dies (a crash, a timeout), not left running:
        // setpriv sets its parent-death signal, and the spawn happens on a thread that lives as long
        // as the runner (the signal follows the spawning thread, not the process).
        var command = [executable.path] + arguments
        if FileManager.default.isExecutableFile(atPath: Self.setpriv) {
            command = [Self.setpriv, "--pdeathsig", "KILL", "--"] + command
        }
        let options = ProcessLauncher.Options(standardOutput: .file(log.path), standardError: .sameAsStandardOutput)
        let spawned = SpawningThread.shared.run { () -> Result<pid_t, ProcessLauncher.SpawnError> in
            Result { () throws(ProcessLauncher.SpawnError) -> pid_t in
                try ProcessLauncher.spawn(executable: command[0], arguments: Array(command.dropFirst()), environment: env, options: options)
            }
        }
        let pid: pid_t
        switch spawned {
        case .success(let p): pid = p
        case .failure(let error): throw TestSupportError("\(error)")
        }
        self.pid = pid
    }

    static let setpriv = "/usr/bin/setpriv"

    /// Reaps the child if it exited; nil while it runs.
    private func poll() -> Int32? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, WNOHANG)
            guard r == pid else { return nil }
            let code = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            status = code
            return code
        }
    }

    public var isRunning: Bool { poll() == nil }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the exit; the status is the exit code, or 128 + signal number.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = poll() { return status }
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    public func terminate(timeout: Duration = .seconds(10)) async -> Int32? {
        signal(SIGTERM)
        if let status = await waitForExit(timeout: timeout) { return status }
        signal(SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }

    public var output: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    deinit {
        if poll() == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
    }
}
