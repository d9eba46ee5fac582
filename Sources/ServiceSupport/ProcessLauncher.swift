import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts child processes with `posix_spawn`, every signal reset to its default and none blocked:
/// the parent's signal handling (swift-service-lifecycle ignores SIGTERM to catch it) must not leak
/// into children, or they survive SIGTERM. The one place processes are created.
public enum ProcessLauncher {
    /// A process that could not be started.
    public struct SpawnError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The path that was to be run.
        public let executable: String
        /// The system's reason (`No such file or directory`).
        public let reason: String

        public var description: String { "cannot start \(executable): \(reason)" }
    }

    /// Where a child's standard stream goes.
    public enum Output: Sendable, Equatable {
        /// The parent's own.
        case inherit
        /// `/dev/null`.
        case null
        /// A file, created if missing (mode 0644), appended to or truncated first.
        case file(String, append: Bool = true)
        /// Standard error only: wherever standard output goes.
        case sameAsStandardOutput
    }

    /// How a child is started; the default inherits standard output and error and reads
    /// `/dev/null`.
    public struct Options: Sendable {
        /// A descriptor of the parent for the child to read as standard input; nil: `/dev/null`.
        public var standardInput: Int32?
        public var standardOutput: Output = .inherit
        public var standardError: Output = .inherit
        /// In a process group of its own (so a terminal's Ctrl-C does not reach it).
        public var newProcessGroup = false

        public init(standardOutput: Output = .inherit, standardError: Output = .inherit) {
            self.standardOutput = standardOutput
            self.standardError = standardError
        }
    }

    /// Starts `executable` (a path: `PATH` is not searched) and returns at once.
    /// - Parameters:
    ///   - arguments: the arguments after `argv[0]`, which is `executable`.
    ///   - environment: the child's whole environment (nothing is inherited).
    /// - Returns: the child's pid; reap it with ``poll(_:)``.
    /// - Throws: ``SpawnError`` when the process cannot be created (a missing executable, an output
    ///   file that cannot be opened).
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String], options: Options = Options()
    ) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input = options.standardInput {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        for (fd, output) in [(Int32(1), options.standardOutput), (2, options.standardError)] {
            switch output {
            case .inherit: break
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path, let append):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
            case .sameAsStandardOutput: posix_spawn_file_actions_adddup2(&actions, 1, fd)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if options.newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw SpawnError(executable: executable, reason: String(cString: strerror(rc))) }
        return pid
    }

    /// How a process ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        /// It exited by itself, with this exit code.
        case exited(Int32)
        /// It was ended by this signal.
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exit code \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    /// Reaps `pid` if it has ended, without waiting; nil while it runs (and also when `waitpid`
    /// fails, for instance for a pid that is not, or no longer, a child). Once reaped, the pid is
    /// gone: poll each child from one place only.
    public static func poll(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        return status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
    }
}
