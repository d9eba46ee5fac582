import AnalyticsCore
import Logging
import ServiceLifecycle

/// A long-running process of the service, as its executable starts it: made from the
/// configuration, then run as one `ServiceGroup` until SIGTERM or SIGINT (by
/// ``ServiceBootstrap/serve(_:logger:)``, usually through ``ServeCommand``). Keeping the assembly in
/// a library type lets tests build a process without its executable.
public protocol ServiceApplication {
    /// The executable's name (`analytics-gateway`), for messages and `--help`.
    static var processName: String { get }
    /// What the process does, in one sentence, for `--help`.
    static var summary: String { get }

    /// Assembles the process.
    /// - Throws: `ConfigurationError` when the configuration cannot work (the process then exits
    ///   with status 78); any other error ends it with status 1.
    init(configuration: AnalyticsConfiguration, logger: Logger) throws

    /// The services in start order: clients first, so that they are stopped last (the group stops
    /// them in reverse order).
    var services: [any Service] { get }
    /// What the start is logged with (listen address, consumer name, …).
    var startMetadata: Logger.Metadata { get }
}
