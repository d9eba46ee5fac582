#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole configuration of the service, shared by its five executables. Every variable has a
/// default that works on a developer machine; ``variables`` is the table that reads, validates and
/// documents them (`--help`, the README), and a bad value is refused with its variable's name.
///
/// Each property is set by one `ANALYTICS_…` variable or its `--flag` twin; ``name(of:)`` finds it.
public struct AnalyticsConfiguration: Sendable {
    /// `ANALYTICS_REDIS_URL`.
    public var redis = RedisEndpoint.tcp()
    /// `ANALYTICS_DATABASE_URL`.
    public var database = PostgresEndpoint(database: "analytics")
    /// Prefix of every Redis key, stream and channel (`ANALYTICS_KEY_PREFIX`); see ``keyspace``.
    public var keyPrefix = "analytics"
    /// Address of the gateway's listener (`ANALYTICS_HTTP_HOST`).
    public var httpHost = "127.0.0.1"
    /// Address of the admin listeners (`/metrics`, `/healthz` of the aggregator, archiver and
    /// supervisor), kept off the public address whatever ``httpHost`` is (`ANALYTICS_ADMIN_HOST`).
    public var adminHost = "127.0.0.1"
    /// `ANALYTICS_HTTP_PORT`.
    public var httpPort = 8080
    /// Address of the WebSocket hub's listener (`ANALYTICS_WS_HOST`).
    public var wsHost = "127.0.0.1"
    /// Port of the WebSocket hub; replica *i* run by the supervisor listens on this port + *i*
    /// (`ANALYTICS_WS_PORT`).
    public var wsPort = 8081
    /// The address of `/ws/analytics` the dashboard and the badge open, for a hub behind a proxy or
    /// on another host (`ANALYTICS_PUBLIC_WS_URL`); empty: the hub's port on the page's own host.
    public var publicWebSocketURL = ""
    /// How many WebSocket hubs the supervisor runs (`ANALYTICS_WSHUB_REPLICAS`).
    public var wshubReplicas = 1
    /// Port of `/metrics` and `/healthz` for a process without an HTTP listener of its own; the
    /// supervisor gives its workers the following ports (`ANALYTICS_ADMIN_PORT`).
    public var adminPort = 9090
    /// Where the service keeps its own state: the generated secret (`ANALYTICS_DATA_DIR`).
    public var dataDirectory = "./data"
    /// The key that signs visitor cookies (`ANALYTICS_SECRET`); nil: generated once into
    /// ``dataDirectory``. Every gateway of a deployment needs the same one.
    public var secret: String?
    /// Whether the gateway sets the `analytics_vid` cookie; false identifies visitors by the cookieless
    /// id only (`ANALYTICS_COOKIES`).
    public var cookies = true
    /// Whether events and pageviews of bots (empty or crawler user agents) are dropped.
    public var botFilter = true
    /// Referrer hosts whose events are dropped as referrer spam.
    public var blockedReferrers = ReferrerBlocklist()
    /// Proxies whose `X-Forwarded-For` is believed when finding the client's address
    /// (`ANALYTICS_TRUSTED_PROXIES`); see ``ClientAddressResolver``.
    public var trustedProxies: [IPNetwork] = []
    /// Events one client may send per minute, across every gateway of the deployment (the budget is
    /// kept in Redis); 0 turns the limit off (`ANALYTICS_RATE_LIMIT`).
    public var rateLimitPerMinute = 600
    /// Query parameters kept in stored page URLs and referrers besides `utm_*`
    /// (`ANALYTICS_KEEP_QUERY_PARAMS`); every other parameter is removed before an event is stored.
    public var keepQueryParameters: [String] = []
    /// The MaxMind-format country database the gateway looks client addresses up in, to give each
    /// event its country (`ANALYTICS_GEOIP_DB`); nil (the default): events get no country. The
    /// address is used for the lookup only, never stored.
    public var geoIPDatabasePath: String?
    /// Entries the event stream may hold before the gateway refuses new events with 503
    /// (`ANALYTICS_STREAM_MAX_EVENTS`): the bound on Redis's memory while the archiver is behind.
    public var streamMaxEvents = 1_000_000
    /// How long an event id chosen by a client is remembered, so that a retry of the same event is
    /// answered without storing it twice (`ANALYTICS_IDEMPOTENCY_WINDOW_SEC`).
    public var idempotencyWindowSeconds = 21_600
    /// Open connections one client address may hold on the gateway (`ANALYTICS_MAX_CONNECTIONS_PER_ADDRESS`).
    public var maxConnectionsPerAddress = 256
    /// WebSocket clients one address may have on one hub (`ANALYTICS_WS_MAX_CONNECTIONS_PER_ADDRESS`).
    public var wsMaxConnectionsPerAddress = 64
    /// The longest a client may take to send a request's head, from the connection's start or the
    /// previous answer (`ANALYTICS_HEADER_TIMEOUT_SEC`); the WebSocket handshake included.
    public var headerTimeoutSeconds = 10
    /// The longest a client may take to send a request's body (`ANALYTICS_BODY_TIMEOUT_SEC`).
    public var bodyTimeoutSeconds = 10
    /// How long a kept-alive connection may stay idle between requests (`ANALYTICS_IDLE_TIMEOUT_SEC`).
    public var idleTimeoutSeconds = 60
    /// The PostgreSQL the gateway reads the history from (`ANALYTICS_DATABASE_READ_URL`): a replica,
    /// say; nil (the default): ``database``.
    public var databaseRead: PostgresEndpoint?
    /// The bearer token the history routes require (`ANALYTICS_STATS_TOKEN`); nil (the default):
    /// they are public, like the realtime routes.
    public var statsToken: String?
    /// PostgreSQL's `statement_timeout` on the gateway's history queries (`ANALYTICS_QUERY_TIMEOUT_SEC`).
    public var queryTimeoutSeconds = 10
    /// PostgreSQL's `statement_timeout` on every connection (`ANALYTICS_DATABASE_STATEMENT_TIMEOUT_SEC`).
    public var databaseStatementTimeoutSeconds = 300
    /// PostgreSQL's `lock_timeout` on every connection (`ANALYTICS_DATABASE_LOCK_TIMEOUT_SEC`).
    public var databaseLockTimeoutSeconds = 30
    /// PostgreSQL's `idle_in_transaction_session_timeout` (`ANALYTICS_DATABASE_IDLE_TRANSACTION_TIMEOUT_SEC`).
    public var databaseIdleTransactionTimeoutSeconds = 60
    /// A worker silent this long is killed and restarted by the supervisor
    /// (`ANALYTICS_WORKER_WATCHDOG_SEC`).
    public var workerWatchdogSeconds = 10
    /// Days of raw events kept in PostgreSQL before the retention pass archives and drops them
    /// (`ANALYTICS_RAW_RETENTION_DAYS`).
    public var rawRetentionDays = 90
    /// Days of daily rollups and archive files kept (`ANALYTICS_ARCHIVE_RETENTION_DAYS`).
    public var archiveRetentionDays = 365
    /// Where the retention pass writes a day's events before dropping its partition
    /// (`ANALYTICS_ARCHIVE_DIR`).
    public var archiveDirectory = "./archive"
    /// Prefix of the business metrics (`ANALYTICS_METRICS_NAMESPACE`).
    public var metricsNamespace = "maicivy"
    /// `trace` … `critical`, in lower case (`ANALYTICS_LOG_LEVEL`).
    public var logLevel = "info"
    /// Name of this process's consumer in the stream's consumer groups; stable across restarts so
    /// that a restarted consumer re-reads its own pending entries at once, and distinct between
    /// consumers running at the same time (`ANALYTICS_CONSUMER_NAME`, by default the host name).
    public var consumerName = AnalyticsConfiguration.hostName()
    /// The active-visitor window: a visitor counts as current this long after their last event
    /// (`ANALYTICS_ACTIVE_WINDOW_SEC`).
    public var activeWindowSeconds = 300
    /// Protocol ping period of the WebSocket hub: a peer silent for two periods is closed.
    public var wsPingSeconds = 10
    /// Messages queued for one WebSocket client before it counts as too slow and is closed.
    public var wsClientQueue = 64
    /// Clients per cohort below which the hub serves its cohorts together (see `BroadcastSchedule`).
    public var wsCohortClients = 1000
    /// Most WebSocket clients one hub serves at once.
    public var wsMaxConnections = 20_000
    /// Web origins that may send events and open the live WebSocket (CORS).
    public var allowedOrigins = OriginPolicy.any
    /// Origins allowed to open a WebSocket, when they differ from `allowedOrigins` (nil: the same).
    public var wsAllowedOrigins: OriginPolicy?
    /// Where the archiver finds `migrations/` (nil: beside the executable or in the checkout).
    public var migrationsDirectory: String?

    /// Every Redis name of the service under ``keyPrefix``.
    public var keyspace: RedisKeyspace { RedisKeyspace(prefix: keyPrefix) }

    /// The defaults, before any variable is read: a local Redis and PostgreSQL.
    public init() {}

    /// Reads the configuration from the environment, then from `--flag value` / `--flag=value`
    /// twins (which win). Arguments that are not configuration flags are returned, in order, for the
    /// caller to interpret (the archiver's commands and their options).
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - arguments: the command line, without the executable.
    /// - Returns: the configuration, and the arguments that are not configuration flags.
    /// - Throws: ``ConfigurationError`` naming the first variable (or flag) whose value is refused.
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
