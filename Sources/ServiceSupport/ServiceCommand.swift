import AnalyticsCore
import ArgumentParser
import Logging

/// A command of one of the service's executables. `ServiceBootstrap.main(_:)` takes the
/// configuration flags out of the command line first (they are the environment variables' twins,
/// common to every executable), lets ArgumentParser parse the rest (commands, their arguments,
/// `--help`), then runs the command with the configuration.
public protocol ServiceCommand: ParsableCommand {
    /// Runs the command.
    /// - Returns: the status the process exits with.
    /// - Throws: what stops it: a `ConfigurationError` exits with status 78, anything else with 1,
    ///   after a message on standard error.
    func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus
}

/// The command of an executable that only serves: it runs `Application` until SIGTERM or SIGINT.
public struct ServeCommand<Application: ServiceApplication>: ServiceCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Application.processName, abstract: Application.summary, discussion: ServiceBootstrap.configurationHelp)
    }

    public init() {}

    public func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus {
        try await ServiceBootstrap.serve(Application(configuration: configuration, logger: logger), logger: logger)
    }
}
