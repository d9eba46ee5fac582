import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport

/// Assembles the supervisor: the plan of workers found beside its own executable, its notify socket
/// in a runtime directory, the admin listener (`/metrics`, `/healthz`) and the supervisor itself.
public struct SupervisorApplication {
    public let services: [any Service]
    public let supervisor: Supervisor

    public init(configuration: AnalyticsConfiguration, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws
    {
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        let plan = WorkerPlan.workers(for: configuration, binaryDirectory: binaries)
        for worker in plan where !FileManager.default.isExecutableFile(atPath: worker.executable) {
            throw ConfigurationError(variable: "binaries", message: "\(worker.executable) not found beside the supervisor")
        }
        guard WorkerPlan.highestPort(for: configuration) <= 65535 else {
            throw ConfigurationError(variable: "ANALYTICS_ADMIN_PORT", message: "the workers' ports would pass 65535")
        }
        // systemd's RuntimeDirectory= when there is one; else a private directory of our own.
        let runtime = environment["RUNTIME_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? NSTemporaryDirectory() + "analytics-supervisor-\(getpid())"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The workers must not see systemd's variables: they talk to us.
        var base = environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] { base[key] = nil }
        let registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        let supervisor = Supervisor(
            settings: .init(
                workers: plan, migration: WorkerPlan.migration(binaryDirectory: binaries), environment: base,
                workerWatchdog: .seconds(configuration.workerWatchdogSeconds), notifySocketPath: runtime + "/notify.sock"),
            systemd: SystemdNotifier(environment: environment),
            metrics: SupervisorMetrics(registry: registry, workers: plan.map(\.name)), logger: logger)
        self.supervisor = supervisor
        let admin = AdminServer.make(host: configuration.httpHost, port: configuration.adminPort, registry: registry, logger: logger) {
            supervisor.healthProblem
        }
        services = [admin, supervisor]
    }
}
