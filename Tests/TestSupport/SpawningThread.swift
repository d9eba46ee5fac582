import Foundation
import ServiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
