import AnalyticsCore
import ArgumentParser
import Logging

/// A command of one of the service's executables. ``ServiceBootstrap/main(_:arguments:environment:)``
/// takes the configuration flags out of the command line first (they are the environment variables'
/// twins, common to every executable), lets ArgumentParser parse the rest (commands, their
/// arguments, `--help`), then runs the command with the configuration. ``ServeCommand`` is the one
/// of the executables that only serve.
public protocol ServiceCommand: ParsableCommand {
    /// Runs the command.
    /// - Returns: the status the process exits with.
    /// - Throws: what stops it: a `ConfigurationError` exits with status 78, anything else with 1,
    ///   after a message on standard error.
    func run(configuration: AnalyticsConfiguration, logger: Logger) async throws -> ExitStatus
}
