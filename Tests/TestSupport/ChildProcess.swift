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

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(
    timeout: Duration = .seconds(10), interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// A value shared between test tasks (a class around a `Mutex`, which cannot be captured itself).
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    public var value: Value { mutex.withLock { $0 } }

    public func withLock<R>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }
}

/// One thread that lives as long as the test runner and starts every child process, so that a
/// child's parent-death signal fires when the runner ends and not when some pool thread retires.
final class SpawningThread: @unchecked Sendable {
    // `condition` guards `work` and `result`.
    static let shared = SpawningThread()
    private let condition = NSCondition()
    private var work: (() -> Void)?
    /// One caller at a time.
    private let callers = NSLock()

    private init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while work == nil { condition.wait() }
                let job = work!
                work = nil
                condition.unlock()
                job()
            }
        }
        thread.name = "test-spawner"
        thread.start()
    }

    /// Runs `body` on the spawning thread and returns its result (one caller at a time).
    func run<R>(_ body: @escaping () -> R) -> R {
        let done = DispatchSemaphore(value: 0)
        var result: R?
        callers.lock()
        defer { callers.unlock() }
        condition.lock()
        work = {
            result = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result!
    }
}
