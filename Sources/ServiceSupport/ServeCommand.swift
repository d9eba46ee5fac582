import AnalyticsCore
import ArgumentParser
import Logging

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
