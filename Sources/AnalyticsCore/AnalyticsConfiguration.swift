#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole configuration of the service, shared by its five executables. Every variable has a
/// default that works on a developer machine; `variables` is the table that reads, validates and
/// documents them (`--help`, the README), and a bad value is refused with its variable's name.
public struct AnalyticsConfiguration: Sendable {
    public var redis = RedisEndpoint.tcp()
    public var database = PostgresEndpoint(database: "analytics")
    public var keyPrefix = "analytics"
    public var httpHost = "127.0.0.1"
    public var httpPort = 8080
    public var wsHost = "127.0.0.1"
    public var wsPort = 8081
    public var wshubReplicas = 1
    public var adminPort = 9090
    public var cookies = true
    public var trustedProxies: [IPNetwork] = []
    public var rateLimitPerMinute = 600
    public var workerWatchdogSeconds = 10
    public var rawRetentionDays = 90
    public var archiveRetentionDays = 365
    public var archiveDirectory = "./archive"
    public var metricsNamespace = "maicivy"
    public var logLevel = "info"
    /// Name of this process's consumer in the stream's consumer groups; stable across restarts so
    /// that a restarted consumer re-reads its own pending entries at once.
    public var consumerName = AnalyticsConfiguration.hostName()
    /// The active-visitor window ("current visitors"): 5 minutes.
    public var activeWindowSeconds = 300
    /// Protocol ping period of the WebSocket hub: a peer silent for two periods is closed.
    public var wsPingSeconds = 10
    /// Messages queued for one WebSocket client before it counts as too slow and is closed.
    public var wsClientQueue = 64
    /// Clients per cohort below which the hub serves its cohorts together (see `BroadcastSchedule`).
    public var wsCohortClients = 1000
    /// Most WebSocket clients one hub serves at once.
    public var wsMaxConnections = 20_000
    /// Origins allowed to open a WebSocket (`https://site.example`); empty: any.
    public var wsAllowedOrigins: [String] = []
    /// Where the archiver finds `migrations/` (nil: beside the executable or in the checkout).
    public var migrationsDirectory: String?

    public var keyspace: RedisKeyspace { RedisKeyspace(prefix: keyPrefix) }

    public init() {}

    /// Reads the configuration from the environment, then from `--flag value` / `--flag=value`
    /// twins (which win). Arguments that are not configuration flags are returned, in order, for the
    /// caller to interpret (the archiver's commands and their options).
    /// - Throws: `ConfigurationError` naming the first variable (or flag) whose value is refused.
    public static func load(
        environment: [String: String], arguments: [String] = []
    ) throws(ConfigurationError) -> (AnalyticsConfiguration, positional: [String]) {
        var configuration = AnalyticsConfiguration()
        for variable in variables {
            if let value = environment[variable.name] {
                try variable.apply(value, to: &configuration)
            }
        }
        var positional: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard argument.hasPrefix("--"), let variable = variables.first(where: { $0.flag == name }) else {
                positional.append(argument)
                continue
            }
            let value: String
            if let eq = argument.firstIndex(of: "=") {
                value = String(argument[argument.index(after: eq)...])
            } else {
                guard i < arguments.count else { throw ConfigurationError(variable: name, message: "needs a value") }
                value = arguments[i]
                i += 1
            }
            try variable.apply(value, to: &configuration)
        }
        return (configuration, positional)
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "consumer" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "consumer" : name
    }
}
