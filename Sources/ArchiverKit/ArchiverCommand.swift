import ArgumentParser
import ServiceSupport

/// `analytics-archiver`: the keeper of history. Without a command it serves (the `archiver`
/// consumer group and the daily retention pass); its other commands run once and exit.
///
/// The subcommands are ``Serve`` (the default), ``Migrate``, ``Retention``, ``Import`` and
/// ``Rebuild``; each builds an ``ArchiverApplication``. The configuration flags every executable
/// shares are taken out of the command line before ArgumentParser sees it.
public struct ArchiverCommand: ParsableCommand {
    /// The command's name, help text and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "analytics-archiver",
        abstract:
            "Stores every accepted event in PostgreSQL exactly once, and keeps the history: migrations, retention with archive files, import, rebuild.",
        discussion: ServiceBootstrap.configurationHelp,
        subcommands: [Serve.self, Migrate.self, Retention.self, Import.self, Rebuild.self],
        defaultSubcommand: Serve.self)

    /// Creates the command, as ArgumentParser requires.
    public init() {}
}
