import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps every worker alive: ordered start (migrations first), restarts with backoff and a restart
/// intensity limit, a watchdog per worker fed by the workers' own sd_notify pings, and the drain on
/// SIGTERM in reverse order. Towards systemd it reports READY=1 once every worker is ready,
/// WATCHDOG=1 only while every worker is healthy, STATUS= and STOPPING=1.
///
/// One loop, every ``Settings/tick``, reads the workers' messages from its ``NotifySocket``, reaps
/// the workers that ended, kills the silent ones, starts the ones due (``RestartPolicy``) and reports
/// to systemd. The plan of workers comes from ``WorkerPlan``.
public final class Supervisor: Service, Sendable {
    /// What the supervisor runs and its timings.
    public struct Settings: Sendable {
        /// The workers, in start order; they stop in reverse order.
        public var workers: [WorkerSpec]
        /// The one-shot command run to completion before any worker starts, retried while it fails
        /// (see ``WorkerPlan/migration(binaryDirectory:)``).
        public var migration: (executable: String, arguments: [String])
        /// The environment every worker starts from (the supervisor's own, without systemd's
        /// notify variables).
        public var environment: [String: String]
        /// How long a worker may stay silent (no `READY=1` or `WATCHDOG=1`) before it is killed and
        /// restarted; given to the workers as their `WATCHDOG_USEC`.
        public var workerWatchdog: Duration
        /// Where the ``NotifySocket`` is made; it must be short (a Unix socket path).
        public var notifySocketPath: String
        /// How long a worker may take to report ready before the next one is started anyway.
        public var readyTimeout: Duration = .seconds(60)
        /// How long a worker may take to drain on SIGTERM before it is killed.
        public var drainTimeout: Duration = .seconds(20)
        /// The period of the supervising loop.
        public var tick: Duration = .milliseconds(100)
        /// A directory made for the notify socket by the supervisor itself (not systemd's
        /// `RuntimeDirectory=`), removed when ``run()`` returns; nil when someone else owns it.
        public var privateDirectory: String?

        public init(
            workers: [WorkerSpec], migration: (executable: String, arguments: [String]), environment: [String: String],
            workerWatchdog: Duration, notifySocketPath: String
        ) {
            self.workers = workers
            self.migration = migration
            self.environment = environment
            self.workerWatchdog = workerWatchdog
            self.notifySocketPath = notifySocketPath
        }
    }

    /// What a worker is doing, for `/healthz` and the STATUS line.
    public struct WorkerState: Sendable, Equatable {
        /// The worker's name (``WorkerSpec/name``).
        public var name: String
        /// Its process while it runs; nil before its first start, while it waits to be restarted, and
        /// after the drain.
        public var pid: pid_t?
        /// Whether the running process has sent `READY=1`.
        public var ready = false
        /// Restarts so far (the first start is not one).
        public var restarts = 0
        /// How it last ended (`crashed (signal 9)`, `failed to start: …`); nil if it never did.
        public var lastExit: String?
    }

    let settings: Settings
    let systemd: SystemdNotifier?
    let metrics: SupervisorMetrics
    let logger: Logger
    private let snapshot: Mutex<[WorkerState]>
    private let stopping = Mutex(false)

    /// - Parameters:
    ///   - systemd: the supervisor's own notifier towards systemd; nil when not run by systemd.
    ///   - metrics: where exits, restarts and readiness are recorded.
    public init(settings: Settings, systemd: SystemdNotifier?, metrics: SupervisorMetrics, logger: Logger) {
        self.settings = settings
        self.systemd = systemd
        self.metrics = metrics
        self.logger = logger
        snapshot = Mutex(settings.workers.map { WorkerState(name: $0.name) })
    }

    /// The workers as of the loop's last tick, in start order.
    public var workers: [WorkerState] { snapshot.withLock { $0 } }

    /// nil when every worker runs and is ready; otherwise which are not. The admin listener's
    /// `/healthz` answers with it.
    public var healthProblem: String? {
        let notReady = workers.filter { $0.pid == nil || !$0.ready }.map(\.name)
        return notReady.isEmpty ? nil : "not ready: \(notReady.joined(separator: ", "))"
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    /// A worker as the supervisor's loop sees it.
    struct Runtime {
        let spec: WorkerSpec
        var policy = RestartPolicy()
        var pid: pid_t?
        var startedAt: ContinuousClock.Instant?
        var ready = false
        var lastPing: ContinuousClock.Instant?
        var restartAt: ContinuousClock.Instant?
        var everStarted = false
        var killedByWatchdog = false
        var restarts = 0
        var lastExit: String?
    }

    /// Applies the migrations, starts the workers in order and keeps them running until graceful
    /// shutdown, then drains them in reverse order and returns.
    /// - Throws: ``SupervisorError`` when the notify socket cannot be made, or when a worker ended
    ///   too often (after every worker was stopped), so that the process exits non-zero.
    public func run() async throws {
        defer {
            if let directory = settings.privateDirectory { try? FileManager.default.removeItem(atPath: directory) }
        }
        let socket = try NotifySocket(path: settings.notifySocketPath)
        var workers = settings.workers.map { Runtime(spec: $0) }
        try await withGracefulShutdownHandler {
            try await supervise(&workers, socket: socket)
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
        }
    }

    private func supervise(_ workers: inout [Runtime], socket: NotifySocket) async throws {
        systemd?.status("applying migrations")
        guard await runMigrations() else {
            systemd?.stopping()
            return
        }
        var announcedReady = false
        var lastStatus = ""
        var failure: SupervisorError?
        while !isStopping && failure == nil {
            let now = ContinuousClock.now
            // Messages from the workers, attributed by pid.
            for message in socket.receiveAll() {
                guard let i = workers.firstIndex(where: { $0.pid == message.pid }) else { continue }
                if message.assignments["READY"] == "1", !workers[i].ready {
                    workers[i].ready = true
                    logger.info("worker ready", metadata: ["worker": "\(workers[i].spec.name)"])
                }
                if message.assignments["WATCHDOG"] == "1" || message.assignments["READY"] == "1" { workers[i].lastPing = now }
            }
            for i in workers.indices {
                // Exits.
                if let pid = workers[i].pid, let termination = ProcessLauncher.poll(pid) {
                    failure = workerEnded(&workers[i], termination: termination, at: now)
                    if failure != nil { break }
                }
                // Watchdog: silent (hung, stopped) for too long.
                if let pid = workers[i].pid, let since = workers[i].lastPing ?? workers[i].startedAt,
                    now - since > settings.workerWatchdog, !workers[i].killedByWatchdog
                {
                    logger.error("worker silent past its watchdog; killing it", metadata: ["worker": "\(workers[i].spec.name)"])
                    workers[i].killedByWatchdog = true
                    kill(pid, SIGKILL)
                }
                // Due restarts.
                if workers[i].pid == nil, let at = workers[i].restartAt, now >= at {
                    workers[i].restartAt = nil
                    workers[i].restarts += 1
                    metrics.recordRestart(workers[i].spec.name)
                    failure = start(&workers[i], socket: socket)
                    if failure != nil { break }
                }
            }
            // Ordered start: the next worker once its predecessor is ready (or slow to say so).
            if let next = workers.firstIndex(where: { !$0.everStarted }) {
                let previous = next > 0 ? workers[next - 1] : nil
                let predecessorDone =
                    previous.map {
                        $0.ready || ($0.startedAt.map { now - $0 > settings.readyTimeout } ?? false)
                    } ?? true
                if predecessorDone, failure == nil { failure = start(&workers[next], socket: socket) }
            }
            publish(workers)
            // Towards systemd.
            let allReady = workers.allSatisfy { $0.pid != nil && $0.ready }
            if allReady && !announcedReady {
                announcedReady = true
                systemd?.ready(status: summary(workers))
                metrics.setReady(true)
                logger.info("every worker ready")
            }
            let status = summary(workers)
            if status != lastStatus {
                systemd?.status(status)
                lastStatus = status
            }
            let healthy =
                allReady
                && workers.allSatisfy { w in
                    (w.lastPing ?? w.startedAt).map { now - $0 <= settings.workerWatchdog } ?? false
                }
            if healthy { systemd?.watchdog() }
            try? await Task.sleep(for: settings.tick)
        }
        systemd?.stopping()
        systemd?.status("stopping")
        await stopAll(&workers)
        publish(workers)
        if let failure { throw failure }
    }

    /// Records an exit and schedules the restart; returns an error when the worker must be given up.
    private func workerEnded(_ worker: inout Runtime, termination: ProcessLauncher.Termination, at now: ContinuousClock.Instant)
        -> SupervisorError?
    {
        let uptime = worker.startedAt.map { now - $0 } ?? .zero
        let becameReady = worker.ready
        let reason: SupervisorMetrics.ExitReason
        let status: Int32
        switch termination {
        case .exited(let code):
            reason = worker.killedByWatchdog ? .watchdog : .exited
            status = code
        case .signaled(let signal):
            reason = worker.killedByWatchdog ? .watchdog : .crashed
            status = 128 + signal
        }
        metrics.recordExit(worker.spec.name, reason: reason, status: status)
        metrics.setUp(worker.spec.name, false)
        worker.lastExit = "\(reason.rawValue) (\(termination))"
        worker.pid = nil
        worker.ready = false
        worker.lastPing = nil
        worker.killedByWatchdog = false
        logger.error("worker ended", metadata: ["worker": "\(worker.spec.name)", "how": "\(worker.lastExit!)"])
        switch worker.policy.workerEnded(at: now, uptime: uptime, becameReady: becameReady, jitter: Double.random(in: 0..<1)) {
        case .restart(let delay):
            worker.restartAt = now + delay
            return nil
        case .giveUp:
            logger.critical("worker restarted too often; stopping everything", metadata: ["worker": "\(worker.spec.name)"])
            return .workerGaveUp(worker.spec.name, restarts: worker.policy.maximumRestarts + 1, window: worker.policy.window)
        }
    }

    /// Spawns the worker; a spawn that fails is scheduled again like an exit, and an error is
    /// returned when it failed too often (the supervisor then stops everything).
    private func start(_ worker: inout Runtime, socket: NotifySocket) -> SupervisorError? {
        worker.everStarted = true
        worker.startedAt = .now
        worker.ready = false
        worker.lastPing = nil
        var environment = settings.environment.merging(worker.spec.environment) { $1 }
        environment["NOTIFY_SOCKET"] = socket.path
        environment["WATCHDOG_USEC"] = String(settings.workerWatchdog.inMicroseconds)
        environment["WATCHDOG_PID"] = nil
        environment[ServiceBootstrap.supervisorPIDVariable] = String(getpid())
        do {
            worker.pid = try ProcessLauncher.spawn(
                executable: worker.spec.executable, arguments: worker.spec.arguments, environment: environment)
            metrics.setUp(worker.spec.name, true)
            logger.info("worker started", metadata: ["worker": "\(worker.spec.name)", "pid": "\(worker.pid!)"])
        } catch {
            logger.error("worker could not start", metadata: ["worker": "\(worker.spec.name)", "error": "\(error)"])
            metrics.recordExit(worker.spec.name, reason: .failedToStart, status: 127)
            worker.lastExit = "failed to start: \(error)"
            switch worker.policy.workerEnded(at: .now, uptime: .zero, jitter: Double.random(in: 0..<1)) {
            case .restart(let delay):
                worker.restartAt = .now + delay
            case .giveUp:
                worker.restartAt = nil
                logger.critical("worker could not be started too often; stopping everything", metadata: ["worker": "\(worker.spec.name)"])
                return .workerGaveUp(worker.spec.name, restarts: worker.policy.maximumRestarts + 1, window: worker.policy.window)
            }
        }
        return nil
    }

    /// `analytics-archiver migrate` to completion before any worker starts; retried while it fails
    /// (PostgreSQL not there yet). False if asked to stop meanwhile.
    private func runMigrations() async -> Bool {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(10))
        while !isStopping {
            var environment = settings.environment
            environment["NOTIFY_SOCKET"] = nil
            do {
                let pid = try ProcessLauncher.spawn(
                    executable: settings.migration.executable, arguments: settings.migration.arguments, environment: environment)
                var termination: ProcessLauncher.Termination?
                while termination == nil {
                    try? await Task.sleep(for: .milliseconds(50))
                    termination = ProcessLauncher.poll(pid)
                }
                if termination == .exited(0) { return true }
                logger.warning("migrations failed; retrying", metadata: ["how": "\(termination!)", "retry_in": "\(backoff.current)"])
            } catch {
                logger.error("cannot run migrations", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: backoff.next())
        }
        return false
    }

    /// SIGTERM to each worker in reverse start order — the gateway stops accepting and finishes its
    /// publishes, the consumers finish and acknowledge their batches — each given `drainTimeout`.
    private func stopAll(_ workers: inout [Runtime]) async {
        for i in workers.indices.reversed() {
            guard let pid = workers[i].pid else { continue }
            logger.info("stopping worker", metadata: ["worker": "\(workers[i].spec.name)"])
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + settings.drainTimeout
            var termination = ProcessLauncher.poll(pid)
            while termination == nil && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
                termination = ProcessLauncher.poll(pid)
            }
            if termination == nil {
                logger.error("worker did not drain in time; killing it", metadata: ["worker": "\(workers[i].spec.name)"])
                kill(pid, SIGKILL)
                while ProcessLauncher.poll(pid) == nil { try? await Task.sleep(for: .milliseconds(10)) }
            }
            workers[i].pid = nil
            workers[i].ready = false
            metrics.setUp(workers[i].spec.name, false)
        }
        metrics.setReady(false)
    }

    private func publish(_ workers: [Runtime]) {
        snapshot.withLock { states in
            states = workers.map {
                WorkerState(name: $0.spec.name, pid: $0.pid, ready: $0.ready, restarts: $0.restarts, lastExit: $0.lastExit)
            }
        }
    }

    /// One line for systemd's STATUS: e.g. `5/5 workers ready; restarts: aggregator 2`.
    func summary(_ workers: [Runtime]) -> String {
        let ready = workers.filter { $0.pid != nil && $0.ready }.count
        let restarted = workers.filter { $0.restarts > 0 }.map { "\($0.spec.name) \($0.restarts)" }
        return "\(ready)/\(workers.count) workers ready" + (restarted.isEmpty ? "" : "; restarts: " + restarted.joined(separator: ", "))
    }
}
