import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport

/// Assembles the supervisor: the plan of workers found beside its own executable, its notify socket
/// in a runtime directory, the admin listener (`/metrics`, `/healthz`) and the supervisor itself.
/// The workers get the supervisor's environment without systemd's variables (`NOTIFY_SOCKET`,
/// `WATCHDOG_USEC`, `WATCHDOG_PID`, `LISTEN_FDS`, `LISTEN_PID`): they report to the supervisor.
public struct SupervisorApplication: ServiceApplication {
    public static let processName = "analytics-supervisor"
    public static let summary =
        "Runs every worker of the service, restarts those that fail, drains them on SIGTERM, and reports to systemd."

    /// The admin listener, then the ``Supervisor``.
    public let services: [any Service]
    /// The supervisor, whose ``Supervisor/workers`` tell what each worker is doing.
    public let supervisor: Supervisor
    public let startMetadata: Logger.Metadata

    /// Assembles the supervisor from the process's own environment.
    /// - Throws: see ``init(configuration:logger:environment:)``.
    public init(configuration: AnalyticsConfiguration, logger: Logger) throws {
        try self.init(configuration: configuration, logger: logger, environment: ProcessInfo.processInfo.environment)
    }

    /// Assembles the supervisor from `environment`: its workers' base environment, systemd's
    /// `NOTIFY_SOCKET` and watchdog, and `RUNTIME_DIRECTORY` (where the notify socket goes; without
    /// it, a private directory under the temporary directory).
    /// - Throws: ``SupervisorError`` when a worker's executable is not beside the supervisor's; a
    ///   `ConfigurationError` when the workers' ports would pass 65535; a file-system error when the
    ///   runtime directory cannot be made.
    public init(configuration: AnalyticsConfiguration, logger: Logger, environment: [String: String]) throws {
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        let plan = WorkerPlan.workers(for: configuration, binaryDirectory: binaries)
        for worker in plan where !FileManager.default.isExecutableFile(atPath: worker.executable) {
            throw SupervisorError.executableMissing(worker.executable)
        }
        guard WorkerPlan.highestPort(for: configuration) <= 65535 else {
            throw ConfigurationError(
                variable: AnalyticsConfiguration.name(of: \.adminPort),
                message:
                    "the workers' ports (each worker's admin port above it, and the hubs' above ANALYTICS_WS_PORT) would pass 65535: choose lower ports"
            )
        }
        // systemd's RuntimeDirectory= when there is one; else a private directory of our own,
        // removed when the supervisor stops.
        let systemdRuntime = environment["RUNTIME_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
        let runtime = systemdRuntime ?? NSTemporaryDirectory() + "analytics-supervisor-\(getpid())"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The workers must not see systemd's variables: they talk to us.
        var base = environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] { base[key] = nil }
        let registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        var settings = Supervisor.Settings(
            workers: plan, migration: WorkerPlan.migration(binaryDirectory: binaries), environment: base,
            workerWatchdog: .seconds(configuration.workerWatchdogSeconds), notifySocketPath: runtime + "/notify.sock")
        settings.privateDirectory = systemdRuntime == nil ? runtime : nil
        let supervisor = Supervisor(
            settings: settings,
            systemd: SystemdNotifier(environment: environment),
            metrics: SupervisorMetrics(registry: registry, workers: plan.map(\.name)), logger: logger)
        self.supervisor = supervisor
        let admin = AdminServer.make(configuration, registry: registry, logger: logger) { supervisor.healthProblem }
        services = [admin, supervisor]
        startMetadata = [
            "workers": "\(plan.map(\.name).joined(separator: ", "))", "admin": "\(configuration.adminHost):\(configuration.adminPort)",
        ]
    }
}
