import AnalyticsCore
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The start of every executable: configuration from the environment and its `--flag` twins, the
/// command line, logging, and one exit status for each way a process can end (``ExitStatus``).
public enum ServiceBootstrap {
    /// Parses the configuration and the command line, then runs the command `Root` names (itself,
    /// or one of its subcommands), and exits. A bad configuration value exits with status 78 and a
    /// message naming the variable; a bad command line with 64 and the usage; `--help` with 0.
    /// - Parameters:
    ///   - root: the executable's command; the command it resolves to must be a ``ServiceCommand``
    ///     (any other, such as a bare command group, prints its help).
    ///   - arguments: the command line without the executable's name.
    ///   - environment: where the `ANALYTICS_…` variables are read.
    public static func main<Root: ParsableCommand>(
        _ root: Root.Type, arguments: [String] = Array(CommandLine.arguments.dropFirst()),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async -> Never {
        let process = root.configuration.commandName ?? "analytics"
        let configuration: AnalyticsConfiguration
        let rest: [String]
        do {
            (configuration, rest) = try AnalyticsConfiguration.load(environment: environment, arguments: arguments)
        } catch {
            // Help is still given with a bad configuration: it is how to find the right values.
            if arguments.contains("--help") || arguments.contains("-h") { root.exit(withError: CleanExit.helpRequest(root)) }
            fail(process, "configuration error: \(error)", .configuration)
        }
        let command: any ParsableCommand
        do {
            command = try root.parseAsRoot(rest)
        } catch {
            root.exit(withError: error)
        }
        guard let serviceCommand = command as? any ServiceCommand else {
            // ArgumentParser's own commands (`help`, and `--help` on a command with subcommands).
            do {
                var command = command
                try command.run()
                root.exit()
            } catch {
                root.exit(withError: error)
            }
        }
        let logger = bootstrapLogging(process: process, level: configuration.logLevel)
        let status: ExitStatus
        do {
            status = try await serviceCommand.run(configuration: configuration, logger: logger)
        } catch let error as ConfigurationError {
            fail(process, "configuration error: \(error)", .configuration)
        } catch {
            fail(process, String(describing: error), .failure)
        }
        exit(status.rawValue)
    }

    /// The configuration table, for the `--help` of every executable.
    public static var configurationHelp: String {
        var text = "Configuration: every variable has a --flag twin (flags win over the environment).\n"
        for v in AnalyticsConfiguration.variables {
            text += "\n  \(v.name) (\(v.flag))\n      \(v.meaning)"
        }
        return text
    }

    /// Runs the application's services until SIGTERM or SIGINT; see ``serve(_:startMetadata:logger:)``.
    public static func serve(_ application: some ServiceApplication, logger: Logger) async -> ExitStatus {
        await serve(application.services, startMetadata: application.startMetadata, logger: logger)
    }

    /// Runs the services as one `ServiceGroup` until SIGTERM or SIGINT, which drain them in reverse
    /// order (so list clients first: they are stopped last). A service that fails (a port already
    /// taken, a worker given up on) ends the group. Under the supervisor, the process also drains and
    /// stops by itself if the supervisor dies (see ``supervisorPIDVariable``).
    /// - Returns: `.success` after a requested stop, `.failure` after a failure (logged).
    public static func serve(_ services: [any Service], startMetadata: Logger.Metadata, logger: Logger) async -> ExitStatus {
        logger.info("starting", metadata: startMetadata)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let watch = watchForSupervisorExit(group, logger: logger)
        defer { watch?.cancel() }
        do {
            try await group.run()
            return .success
        } catch {
            logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            return .failure
        }
    }

    /// Bootstraps swift-log once for the process: ``LazyStreamLogHandler`` to standard error at
    /// `level` (`ANALYTICS_LOG_LEVEL`; an unknown name means `info`).
    /// - Returns: the process's logger, labelled `process`.
    public static func bootstrapLogging(process: String, level: String) -> Logger {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in LazyStreamLogHandler(label: label, level: level) }
        var logger = Logger(label: process)
        logger.logLevel = level
        return logger
    }

    /// The variable through which the supervisor gives its workers its pid: a worker whose parent is
    /// no longer that process drains and exits, so that none lives on unsupervised holding its ports.
    public static let supervisorPIDVariable = "ANALYTICS_SUPERVISOR_PID"

    /// A worker whose supervisor died without stopping it (SIGKILL, a crash) would live on
    /// unsupervised, holding its ports against the supervisor's next start: it drains and exits
    /// instead, as on SIGTERM. (PR_SET_PDEATHSIG is tied to the spawning thread, which in the
    /// supervisor is any thread of Swift's pool, so the worker watches its parent itself.)
    static func watchForSupervisorExit(_ group: ServiceGroup, logger: Logger) -> Task<Void, Never>? {
        guard let supervisor = ProcessInfo.processInfo.environment[supervisorPIDVariable].flatMap(Int32.init) else { return nil }
        return Task {
            while !Task.isCancelled {
                if getppid() != supervisor {
                    logger.warning("the supervisor is gone; stopping", metadata: ["supervisor_pid": "\(supervisor)"])
                    await group.triggerGracefulShutdown()
                    return
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Ends the process at once with `process: message` on standard error and `status`.
    public static func fail(_ process: String, _ message: String, _ status: ExitStatus) -> Never {
        FileHandle.standardError.write(Data("\(process): \(message)\n".utf8))
        exit(status.rawValue)
    }
}
