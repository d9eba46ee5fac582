import Foundation
import ServiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGKILLs a whole process group when its owner is done with it, is released, or dies: for the
/// processes a parent-death signal cannot reach, such as Chromium under chromedriver (Chromium
/// outlives a chromedriver killed with the test runner).
///
/// A `sh` in a process group of its own waits on its standard input, a socket whose other end only
/// this test process holds (close-on-exec: no other child inherits it). End of file, whether from
/// ``killGroup()``, from `deinit` or from the death of the test runner, makes it kill the group.
/// The group's leader must be a child of the test runner that is reaped only after this, so that
/// the group's id cannot be reused in the meantime.
public final class ProcessGroupWatchdog: Sendable {
    /// The process group killed: the pid of its leader.
    public let processGroup: pid_t
    private let pid: pid_t
    /// Our end of the watchdog's standard input; -1 once closed.
    private let socket: Mutex<Int32>

    /// (dash's `kill` takes `-s KILL -- -<group>`, but not `-KILL -- -<group>`.)
    static let script = #"""
        read -r word
        kill -s KILL -- "-$1" 2>/dev/null
        exit 0
        """#

    public init(processGroup: pid_t) throws {
        precondition(processGroup > 1, "not a process group: \(processGroup)")
        self.processGroup = processGroup
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw TestSupportError("socketpair: \(String(cString: strerror(errno)))")
        }
        defer { close(fds[1]) }
        // Its own process group: a Ctrl-C of the test run must not stop it before it has done its work.
        var options = ProcessLauncher.Options(standardOutput: .null, standardError: .null)
        options.standardInput = fds[1]
        options.newProcessGroup = true
        do {
            pid = try ProcessLauncher.spawn(
                executable: "/bin/sh", arguments: ["-c", Self.script, "process-group-watchdog", String(processGroup)],
                environment: ["PATH": "/usr/bin:/bin"], options: options)
        } catch {
            close(fds[0])
            throw TestSupportError("\(error)")
        }
        socket = Mutex(fds[0])
    }

    /// Kills the group now, and waits until the watchdog has done it.
    public func killGroup() async {
        closeSocket()
        let pid = pid
        _ = await eventually(timeout: .seconds(10), interval: .milliseconds(10)) { ProcessLauncher.poll(pid) != nil }
    }

    private func closeSocket() {
        socket.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit {
        let wasOpen = socket.withLock { $0 >= 0 }
        closeSocket()
        if wasOpen {
            // The watchdog exits right after its kill: a short wait, and no zombie left behind.
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
    }
}
