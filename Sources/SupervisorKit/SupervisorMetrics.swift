import Prometheus
import ServiceSupport

/// The supervisor's Prometheus metrics: per worker, up, restarts, exits by reason and the last exit;
/// and whether every worker has reported ready. ``Supervisor`` records them.
public final class SupervisorMetrics: Sendable {
    /// How a worker ended: the `reason` label of `analytics_supervisor_worker_exits_total`.
    public enum ExitReason: String, Sendable, CaseIterable {
        /// Exited by itself (any code).
        case exited
        /// Killed by a signal it did not handle (a crash, an OOM kill, a SIGKILL from outside).
        case crashed
        /// Silent for longer than its watchdog: killed by the supervisor.
        case watchdog
        /// Could not be started at all.
        case failedToStart = "failed_to_start"
    }

    private let up: [String: Gauge]
    private let restarts: [String: Counter]
    private let exits: [String: [ExitReason: Counter]]
    private let lastExitCode: [String: Gauge]
    private let ready: Gauge

    /// Registers every series up front, so the exposition is complete before any exit.
    /// - Parameter workers: the workers' names (``WorkerSpec/name``), the `worker` label.
    public init(registry: MetricsRegistry, workers: [String]) {
        let p = registry.prometheus
        var up: [String: Gauge] = [:]
        var restarts: [String: Counter] = [:]
        var exits: [String: [ExitReason: Counter]] = [:]
        var lastExitCode: [String: Gauge] = [:]
        for worker in workers {
            up[worker] = p.makeGauge(
                name: "analytics_supervisor_worker_up", labels: [("worker", worker)], help: "1 while the worker runs and is ready")
            restarts[worker] = p.makeCounter(
                name: "analytics_supervisor_worker_restarts_total", labels: [("worker", worker)],
                help: "Times the supervisor restarted the worker")
            for reason in ExitReason.allCases {
                exits[worker, default: [:]][reason] = p.makeCounter(
                    name: "analytics_supervisor_worker_exits_total", labels: [("worker", worker), ("reason", reason.rawValue)],
                    help: "Worker exits, by reason (exited, crashed, watchdog, failed_to_start)")
            }
            lastExitCode[worker] = p.makeGauge(
                name: "analytics_supervisor_worker_last_exit_status", labels: [("worker", worker)],
                help: "Exit code of the worker's last exit, or 128 + the signal that ended it (-1: none yet)")
            lastExitCode[worker]?.set(to: -1)
        }
        self.up = up
        self.restarts = restarts
        self.exits = exits
        self.lastExitCode = lastExitCode
        ready = p.makeGauge(name: "analytics_supervisor_ready", help: "1 once every worker has reported ready")
    }

    func setUp(_ worker: String, _ value: Bool) { up[worker]?.set(to: value ? 1 : 0) }
    func recordRestart(_ worker: String) { restarts[worker]?.increment() }
    func recordExit(_ worker: String, reason: ExitReason, status: Int32) {
        exits[worker]?[reason]?.increment()
        lastExitCode[worker]?.set(to: Double(status))
    }
    func setReady(_ value: Bool) { ready.set(to: value ? 1 : 0) }
}
