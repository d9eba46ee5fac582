import AnalyticsCore

/// The workers of a configuration, in start order — the archiver first (it owns the migrations,
/// run before anything starts), then the consumers, the hubs, and last the gateway, which accepts
/// events; they stop in the reverse order. Each gets its own admin port (`ANALYTICS_ADMIN_PORT` +
/// 1, + 2, …) and hub *i* listens on `ANALYTICS_WS_PORT` + *i*. Pure: tested without processes.
public enum WorkerPlan {
    /// The workers of `configuration`, in start order.
    /// - Parameter binaryDirectory: where the `analytics-*` executables are (the supervisor's own
    ///   directory).
    /// - Returns: one ``WorkerSpec`` per worker; each one's environment holds only what differs from
    ///   the supervisor's (its admin port, a hub's WebSocket port).
    public static func workers(for configuration: AnalyticsConfiguration, binaryDirectory: String) -> [WorkerSpec] {
        var specs: [WorkerSpec] = []
        var nextAdminPort = configuration.adminPort + 1
        let adminPort = AnalyticsConfiguration.name(of: \.adminPort)
        func spec(_ kind: WorkerSpec.Kind, name: String, extra: [String: String] = [:]) -> WorkerSpec {
            defer { nextAdminPort += 1 }
            return WorkerSpec(
                name: name, kind: kind, executable: "\(binaryDirectory)/analytics-\(kind.rawValue)", arguments: [],
                environment: extra.merging([adminPort: String(nextAdminPort)]) { $1 })
        }
        specs.append(spec(.archiver, name: "archiver"))
        specs.append(spec(.aggregator, name: "aggregator"))
        for i in 0..<configuration.wshubReplicas {
            let wsPort = AnalyticsConfiguration.name(of: \.wsPort)
            specs.append(spec(.wshub, name: "wshub-\(i)", extra: [wsPort: String(configuration.wsPort + i)]))
        }
        specs.append(spec(.gateway, name: "gateway"))
        return specs
    }

    /// The one-shot run before any worker: `analytics-archiver migrate`.
    public static func migration(binaryDirectory: String) -> (executable: String, arguments: [String]) {
        ("\(binaryDirectory)/analytics-archiver", ["migrate"])
    }

    /// The highest port the plan uses (the gateway's admin port, or the last hub's WebSocket port),
    /// to check the configuration fits in 1…65535.
    public static func highestPort(for configuration: AnalyticsConfiguration) -> Int {
        max(configuration.adminPort + configuration.wshubReplicas + 3, configuration.wsPort + configuration.wshubReplicas - 1)
    }
}
