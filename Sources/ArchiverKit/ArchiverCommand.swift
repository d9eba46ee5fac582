import ArgumentParser
import ServiceSupport

/// `analytics-archiver`: the keeper of history. Without a command it serves (the `archiver`
/// consumer group and the daily retention pass); its other commands run once and exit.
public struct ArchiverCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "analytics-archiver",
        abstract: "Stores every accepted event in PostgreSQL exactly once, and keeps the history: migrations, retention with archive files, import, rebuild.",
        discussion: ServiceBootstrap.configurationHelp,
        subcommands: [Serve.self, Migrate.self, Retention.self, Import.self, Rebuild.self],
        defaultSubcommand: Serve.self)

    public init() {}
}
