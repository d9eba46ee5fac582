import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import RedisClient

#if canImport(Glibc)
import Glibc
#endif

/// The start of every executable: configuration from the environment and `--flag` twins, logging,
/// and a clear message plus exit code 78 (EX_CONFIG) when a value is bad.
public enum ServiceBootstrap {
    public static let configurationExitCode: Int32 = 78

    public static func load(process: String, arguments: [String] = Array(CommandLine.arguments.dropFirst()))
        -> (AnalyticsConfiguration, positional: [String], logger: Logger)
    {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage(process: process))
            exit(0)
        }
        let loaded: (AnalyticsConfiguration, positional: [String])
        do {
            loaded = try AnalyticsConfiguration.load(environment: ProcessInfo.processInfo.environment, arguments: arguments)
        } catch {
            FileHandle.standardError.write(Data("\(process): configuration error: \(error)\n".utf8))
            exit(configurationExitCode)
        }
        let level = Logger.Level(rawValue: loaded.0.logLevel) ?? .info
        LoggingSystem.bootstrap { label in LazyStreamLogHandler(label: label, level: level) }
        var logger = Logger(label: process)
        logger.logLevel = level
        return (loaded.0, loaded.positional, logger)
    }

    public static func usage(process: String) -> String {
        var text = "usage: \(process) [--flag value …]\n\nEvery flag has an environment twin; flags win.\n\n"
        for v in AnalyticsConfiguration.variables {
            text += "  \(v.flag.padding(toLength: 28, withPad: " ", startingAt: 0)) \(v.name)\n      \(v.meaning)\n"
        }
        return text
    }

    /// Runs the services as one `ServiceGroup` until SIGTERM or SIGINT, which drain them in reverse
    /// order (so list clients first: they are stopped last). A service that fails (a port already
    /// taken, a worker given up on) ends the process with a message and exit code 1 — not a crash
    /// report.
    public static func run(_ services: [any Service], logger: Logger) async {
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let watch = watchForSupervisorExit(group, logger: logger)
        defer { watch?.cancel() }
        do {
            try await group.run()
        } catch {
            logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    /// The variable through which the supervisor gives its workers its pid.
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

    /// Stops the process with a message when a dependency cannot be set up at start.
    public static func fail(_ process: String, _ message: String) -> Never {
        FileHandle.standardError.write(Data("\(process): \(message)\n".utf8))
        exit(1)
    }
}

extension RedisEndpoint {
    /// The client-side form of the configured `ANALYTICS_REDIS_URL`.
    public init(_ url: RedisURL) {
        switch url.location {
        case .tcp(let host, let port):
            self.init(location: .tcp(host: host, port: port), database: url.database, username: url.username, password: url.password)
        case .unixSocket(let path):
            self.init(location: .unixSocket(path: path), database: url.database, username: url.username, password: url.password)
        }
    }
}

extension RedisClient {
    /// A client of the configured Redis, named after its use (`CLIENT LIST` shows it).
    public convenience init(
        _ configuration: AnalyticsConfiguration, name: String, logger: Logger, metrics: (any RedisClientMetrics)? = nil,
        adjust: (inout RedisClient.Configuration) -> Void = { _ in }
    ) {
        var clientConfiguration = RedisClient.Configuration(endpoint: RedisEndpoint(configuration.redisURL), name: name)
        adjust(&clientConfiguration)
        self.init(configuration: clientConfiguration, logger: logger, metrics: metrics)
    }
}
