import Dispatch
import Foundation
import ServiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster on a free port in a temporary directory, for one test or suite,
/// with the database `analytics` created. Never the machine's own cluster: tests must not depend
/// on port 5432.
///
/// PostgreSQL refuses to run as root, so when the tests run as root the directory is given to the
/// `postgres` OS user and `initdb`/`postgres` run as that user (through `setpriv`, which execs in
/// place so that the process we own *is* the postmaster; `runuser` otherwise). The `psql` client
/// runs as the current user and connects over TCP as the `postgres` role (trust authentication).
///
/// Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`): a test cluster never
/// survives a machine crash, and `kill()` (SIGKILL) still exercises crash recovery from the WAL.
/// But with `synchronous_commit=off` the last commits (up to ~0.6 s) may be lost by `kill()`: an
/// outage test that needs every acknowledged commit to survive it passes
/// `settings: ["synchronous_commit": "on"]` (commits then reach the OS before they return).
///
/// A watchdog process stops the server and removes the directory if the test process dies
/// without releasing it (a crash, a kill, a timeout).
public final class PostgresServer: Sendable {
    /// Chosen anew if another process took it first (see `FreePort.startingOnAFreePort`).
    private let chosenPort: Mutex<Int>
    public var port: Int { chosenPort.withLock { $0 } }
    public let directory: TemporaryDirectory
    public let settings: [String: String]
    private let current: Mutex<ChildProcess?>
    private let watchdog: (pid: pid_t, socket: Int32)

    public init(port: Int = FreePort.next(), settings: [String: String] = [:]) async throws {
        self.chosenPort = Mutex(port)
        self.settings = settings
        let directory = TemporaryDirectory("postgres")
        self.directory = directory
        self.current = Mutex(nil)
        // Should this test process die without releasing the server, the watchdog stops it.
        self.watchdog = try Self.startWatchdog(dataDirectory: directory.path + "/data", directory: directory.path)
        try Self.prepareOwnership(of: directory.url)
        try await initializeCluster()
        try await FreePort.startingOnAFreePort(chosenPort) { try await self.start() }
        try psql("CREATE DATABASE analytics", database: "postgres")
    }

    public var url: String { "postgres://postgres@127.0.0.1:\(port)/analytics" }
    public var dataDirectory: String { directory.path + "/data" }

    /// The server's log (stdout and stderr of the current postmaster).
    public var output: String { current.withLock { $0 }?.output ?? "" }

    /// Starts (or restarts, after `stop()` or `kill()`) the server on the same port and data
    /// directory, and waits until it accepts connections (after crash recovery, if any).
    public func start() async throws {
        let port = port
        if current.withLock({ $0?.isRunning ?? false }) {
            throw TestSupportError("PostgreSQL on port \(port) is already running")
        }
        var arguments = [
            "-D", dataDirectory, "-p", String(port), "-k", directory.path,
            "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]
        // After the defaults: the last `-c` for a name wins.
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            arguments += ["-c", "\(name)=\(value)"]
        }
        let (executable, fullArguments) = try Self.asServerUser(Self.tool("postgres"), arguments)
        let process = try ChildProcess(
            executable: executable, arguments: fullArguments, logDirectory: directory.url, name: "postgres")
        current.withLock { $0 = process }

        let ready = await eventually(timeout: .seconds(60), interval: .milliseconds(50)) {
            !process.isRunning || Self.isReady(port: port, scratch: directory.url)
        }
        guard ready, process.isRunning else {
            let log = process.output
            await kill()
            throw TestSupportError("PostgreSQL did not start on port \(port): \(log)")
        }
    }

    /// Fast shutdown (SIGINT: open transactions are rolled back, then a shutdown checkpoint), and
    /// waits until the postmaster and all its children are gone. SIGKILL if that takes over 30 s.
    public func stop() async {
        guard let process = take() else { return }
        if process.isRunning, let postmaster = Self.postmaster(under: process.pid) {
            Glibc.kill(postmaster, SIGINT)
        }
        if await process.waitForExit(timeout: .seconds(30)) == nil {
            await Self.killTree(of: process)
        }
    }

    /// Kills the postmaster and every backend outright (SIGKILL), as a crash of the machine or the
    /// OOM killer would; the next `start()` goes through crash recovery.
    public func kill() async {
        guard let process = take() else { return }
        await Self.killTree(of: process)
    }

    /// Runs `sql` with psql (`-X -A -t`, stop on the first error) and returns its output, trimmed.
    /// Rows are one a line, columns separated by `|`.
    @discardableResult
    public func psql(_ sql: String, database: String = "analytics") throws -> String {
        let result = try Self.run(
            Self.tool("psql"),
            [
                "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres",
                "-d", database, "-c", sql,
            ],
            scratch: directory.url)
        guard result.status == 0 else {
            throw TestSupportError(
                "psql failed (exit \(result.status)) on port \(port): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        // ChildProcess's own deinit kills only the postmaster; its children would linger until
        // they notice. Take them all down now (the directory is removed right after).
        if let process = current.withLock({ $0 }), process.isRunning {
            let postmaster = Self.postmaster(under: process.pid) ?? process.pid
            for pid in Self.stopTree(of: postmaster) { Glibc.kill(pid, SIGKILL) }
        }
        Self.disarmWatchdog(watchdog)
    }

    // MARK: - Cluster creation

    private func initializeCluster() async throws {
        let (executable, arguments) = try Self.asServerUser(
            Self.tool("initdb"),
            // --no-sync: a test cluster need not survive a power failure, and it saves seconds.
            ["-D", dataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        let initdb = try ChildProcess(
            executable: executable, arguments: arguments, logDirectory: directory.url, name: "initdb")
        let status = await initdb.waitForExit(timeout: .seconds(120))
        guard status == 0 else {
            if status == nil { initdb.signal(SIGKILL) }
            throw TestSupportError("initdb failed (\(status.map(String.init) ?? "timeout")): \(initdb.output)")
        }
    }

    private func take() -> ChildProcess? {
        current.withLock { p -> ChildProcess? in
            defer { p = nil }
            return p
        }
    }

    static func isReady(port: Int, scratch: URL) -> Bool {
        guard let tool = try? tool("pg_isready"),
            let result = try? run(
                tool, ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-t", "2"], scratch: scratch)
        else { return false }
        return result.status == 0
    }

    // MARK: - The postgres OS user

    /// The user the server runs as when we are root; nil when we are not (then: ourselves).
    static var serverUser: (uid: uid_t, gid: gid_t)? {
        get throws {
            guard geteuid() == 0 else { return nil }
            guard let entry = getpwnam("postgres") else {
                throw TestSupportError("running as root, but there is no `postgres` OS user to run PostgreSQL as")
            }
            return (entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
    }

    /// Gives the directory to the server user, and checks that this user can reach it.
    static func prepareOwnership(of directory: URL) throws {
        guard let user = try serverUser else { return }
        guard chown(directory.path, user.uid, user.gid) == 0 else {
            throw TestSupportError("chown \(directory.path): \(String(cString: strerror(errno)))")
        }
        var parent = directory.deletingLastPathComponent()
        while parent.path != "/" && !parent.path.isEmpty {
            let attributes = try? FileManager.default.attributesOfItem(atPath: parent.path)
            let mode = (attributes?[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o755
            let owner = (attributes?[.ownerAccountID] as? NSNumber)?.uint32Value ?? 0
            if attributes != nil && mode & 0o001 == 0 && owner != user.uid {
                throw TestSupportError(
                    "the postgres user cannot enter \(parent.path) (the temporary directory's parent); set TMPDIR=/tmp")
            }
            parent = parent.deletingLastPathComponent()
        }
    }

    /// The command line that runs `executable` as the server user.
    static func asServerUser(_ executable: URL, _ arguments: [String]) throws -> (URL, [String]) {
        guard try serverUser != nil else { return (executable, arguments) }
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let setpriv {
            // Execs in place: the pid we own is the postmaster's, so signals reach it directly.
            return (
                URL(fileURLWithPath: setpriv),
                ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable.path] + arguments
            )
        }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let runuser {
            // Forks: the postmaster is runuser's child (see `postmaster(under:)`).
            return (URL(fileURLWithPath: runuser), ["-u", "postgres", "--", executable.path] + arguments)
        }
        throw TestSupportError("running as root, and neither setpriv nor runuser is installed")
    }

    // MARK: - Binaries

    /// Where initdb, postgres, pg_isready and psql are: `pg_config --bindir`, else the newest
    /// `/usr/lib/postgresql/*/bin`. Not PATH: Debian's /usr/bin/psql is a wrapper script.
    static let binDirectory: URL? = {
        func hasServer(_ dir: String) -> Bool { FileManager.default.isExecutableFile(atPath: dir + "/postgres") }
        for pgConfig in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where FileManager.default.isExecutableFile(atPath: pgConfig) {
            if let result = try? run(URL(fileURLWithPath: pgConfig), ["--bindir"]), result.status == 0 {
                let dir = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                if hasServer(dir) { return URL(fileURLWithPath: dir) }
            }
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) where hasServer("/usr/lib/postgresql/\(version)/bin") {
            return URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
        }
        for dir in ["/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"] where hasServer(dir) {
            return URL(fileURLWithPath: dir)
        }
        return nil
    }()

    static func tool(_ name: String) throws -> URL {
        guard let dir = binDirectory else {
            throw TestSupportError("PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin)")
        }
        return dir.appendingPathComponent(name)
    }

    // MARK: - Short commands

    struct RunResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a short command to completion (blocking), stdout and stderr captured in files.
    static func run(_ executable: URL, _ arguments: [String], scratch: URL? = nil) throws -> RunResult {
        let dir = scratch ?? FileManager.default.temporaryDirectory
        let id = UUID().uuidString.prefix(8)
        let outFile = dir.appendingPathComponent(".run-\(id).out")
        let errFile = dir.appendingPathComponent(".run-\(id).err")
        defer {
            try? FileManager.default.removeItem(at: outFile)
            try? FileManager.default.removeItem(at: errFile)
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ANALYTICS_") && !$0.key.hasPrefix("PG") }
        environment["PGCONNECT_TIMEOUT"] = "10"
        let pid = try spawn(executable, arguments, environment: environment, stdout: outFile.path, stderr: errFile.path)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        return RunResult(
            status: status,
            stdout: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }

    /// Starts a process with every signal reset (`ProcessLauncher`); stdin from `stdin` (a
    /// descriptor) or /dev/null, stdout and stderr to files or /dev/null.
    static func spawn(
        _ executable: URL, _ arguments: [String], environment: [String: String], stdin: Int32? = nil, stdout: String? = nil,
        stderr: String? = nil, ownProcessGroup: Bool = false
    ) throws -> pid_t {
        var options = ProcessLauncher.Options(
            standardOutput: stdout.map { .file($0, append: false) } ?? .null,
            standardError: stderr.map { .file($0, append: false) } ?? .null)
        options.standardInput = stdin
        options.newProcessGroup = ownProcessGroup
        do {
            return try ProcessLauncher.spawn(executable: executable.path, arguments: arguments, environment: environment, options: options)
        } catch {
            throw TestSupportError("\(error)")
        }
    }

    // MARK: - Watchdog

    /// What the watchdog runs (`sh -c`): it waits on its stdin, a socket whose other end only this
    /// test process holds. "x" disarms it. End of file means the test process died without
    /// releasing the server (a crash, a kill, a timeout): then it takes down the postmaster named
    /// in the data directory's lock file (immediate shutdown, which stops the children too) and
    /// removes the directory, as `deinit` would have.
    static let watchdogScript = #"""
        read -r word; [ "$word" = x ] && exit 0
        data=$1 dir=$2 keep=$3
        pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
        if [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$data"; then
          kill -QUIT "$pid"
          i=0
          while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
          kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        fi
        [ "$keep" = 1 ] || rm -rf "$dir"
        """#

    /// Starts the watchdog (in its own process group, so that a Ctrl-C of the test run does not
    /// stop it before it has done its work); returns its pid and our end of its socket.
    static func startWatchdog(dataDirectory: String, directory: String) throws -> (pid: pid_t, socket: Int32) {
        var fds: [Int32] = [-1, -1]
        // Close-on-exec: no other child may inherit our end, or the end of file would never come.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw TestSupportError("socketpair: \(String(cString: strerror(errno)))")
        }
        defer { close(fds[1]) }
        let keep = ProcessInfo.processInfo.environment["ANALYTICS_KEEP_TEST_DIRS"] == "1" ? "1" : "0"
        do {
            let pid = try spawn(
                URL(fileURLWithPath: "/bin/sh"), ["-c", watchdogScript, "postgres-watchdog", dataDirectory, directory, keep],
                environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"], stdin: fds[1], ownProcessGroup: true)
            return (pid, fds[0])
        } catch {
            close(fds[0])
            throw error
        }
    }

    /// Tells the watchdog that all is well, and reaps it.
    static func disarmWatchdog(_ watchdog: (pid: pid_t, socket: Int32)) {
        // MSG_NOSIGNAL: no SIGPIPE for the test process if the watchdog is already gone.
        _ = send(watchdog.socket, "x\n", 2, Int32(MSG_NOSIGNAL))
        close(watchdog.socket)
        var raw: Int32 = 0
        while waitpid(watchdog.pid, &raw, 0) < 0 && errno == EINTR {}
    }

    // MARK: - Process tree

    /// pid → (parent pid, state, command name) of every process, from /proc.
    static func processTable() -> [pid_t: (ppid: pid_t, state: Character, comm: String)] {
        var table: [pid_t: (ppid: pid_t, state: Character, comm: String)] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let comm = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let ppid = pid_t(fields[1]), let state = fields[0].first else { continue }
            table[pid] = (ppid, state, comm)
        }
        return table
    }

    /// `root` and all its descendants.
    static func tree(of root: pid_t, in table: [pid_t: (ppid: pid_t, state: Character, comm: String)]) -> [pid_t] {
        var result = [root]
        var index = 0
        while index < result.count {
            let parent = result[index]
            result += table.filter { $0.value.ppid == parent }.map(\.key).sorted()
            index += 1
        }
        return result
    }

    /// The postmaster: `root` itself (setpriv, or no user switch) or its first `postgres` descendant (runuser).
    static func postmaster(under root: pid_t) -> pid_t? {
        let table = processTable()
        return tree(of: root, in: table).first { table[$0]?.comm == "postgres" }
    }

    /// SIGSTOPs the tree (top down, until no new process appears), so that nothing forks while it
    /// is being killed; PostgreSQL's children call setsid(), so a process group kill would miss them.
    static func stopTree(of root: pid_t) -> Set<pid_t> {
        var stopped = Set<pid_t>()
        for _ in 0..<10 {
            let fresh = tree(of: root, in: processTable()).filter { !stopped.contains($0) }
            if fresh.isEmpty { break }
            for pid in fresh { Glibc.kill(pid, SIGSTOP) }
            stopped.formUnion(fresh)
        }
        return stopped
    }

    /// SIGKILLs the postmaster and its children, and waits until all are gone: the next start must
    /// find neither the old postmaster's pid alive (the lock file) nor its shared memory attached.
    static func killTree(of process: ChildProcess) async {
        guard process.isRunning else { return }
        let postmaster = postmaster(under: process.pid) ?? process.pid
        let pids = stopTree(of: postmaster)
        for pid in pids { Glibc.kill(pid, SIGKILL) }
        if postmaster != process.pid {
            // runuser reaps the postmaster, then exits; killed first, it would leave the postmaster
            // a zombie of init, which PostgreSQL's lock file check takes for a live server. It
            // stops itself when it sees its child stopped: continue it.
            Glibc.kill(process.pid, SIGCONT)
            if await process.waitForExit(timeout: .seconds(5)) == nil { process.signal(SIGKILL) }
        }
        _ = await process.waitForExit(timeout: .seconds(10))
        _ = await eventually(timeout: .seconds(10), interval: .milliseconds(10)) {
            let table = processTable()
            // The backends, reparented to init, are zombies until it reaps them: as good as gone.
            return pids.allSatisfy { pid in table[pid].map { $0.state == "Z" } ?? true }
        }
    }
}
