import AnalyticsCore
import ArgumentParser
import Logging

/// The command of an executable that only serves: it runs `Application` until SIGTERM or SIGINT.
/// An executable with subcommands (the archiver's `migrate`, `import`, …) writes its own
/// ``ServiceCommand`` instead.
///
/// ```swift
/// await ServiceBootstrap.main(ServeCommand<AggregatorApplication>.self)
/// ```
public struct ServeCommand<Application: ServiceApplication>: ServiceCommand {
    /// The command's name and abstract come from the application; its discussion is the
    /// configuration table (``ServiceBootstrap/configurationHelp``).
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Application.processName, abstract: Application.summary, discussion: ServiceBootstrap.configurationHelp)
    }

    public init() {}

    /// Assembles the application and serves it with ``ServiceBootstrap/serve(_:logger:)``.
    /// - Throws: what the application's initialiser throws (a `ConfigurationError` exits with 78).
    public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
        try await ServiceBootstrap.serve(Application(configuration: configuration, logger: logger), logger: logger)
    }
}
