#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A configuration value that cannot be used; the process stops at start with this message.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let variable: String
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "\(variable): \(message)" }
}

/// A Redis location parsed from `redis://[[user]:password@]host[:port][/db]` or `unix:///path[?db=N]`.
public struct RedisURL: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public var location: Location
    public var database: Int
    public var username: String?
    public var password: String?

    public init(location: Location, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.location = location
        self.database = database
        self.username = username
        self.password = password
    }

    public init?(_ text: String) {
        if text.hasPrefix("unix://") {
            var rest = Substring(text.dropFirst("unix://".count))
            var database = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = rest[..<q]
                for item in query.split(separator: "&") {
                    let kv = item.split(separator: "=", maxSplits: 1)
                    if kv.count == 2, kv[0] == "db" {
                        guard let n = Int(kv[1]), n >= 0 else { return nil }
                        database = n
                    }
                }
            }
            guard rest.hasPrefix("/") else { return nil }
            self.init(location: .unixSocket(path: String(rest)), database: database)
            return
        }
        guard text.hasPrefix("redis://") else { return nil }
        var rest = Substring(text.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            // A password that cannot be decoded refuses the URL: connecting without it would hide the mistake.
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user)
                guard let decoded = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding else { return nil }
                password = decoded
            } else {
                guard let decoded = String(credentials).removingPercentEncoding else { return nil }
                password = decoded
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let n = Int(path), n >= 0 else { return nil }
                database = n
            }
        }
        var host = "127.0.0.1"
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        } else if !rest.isEmpty {
            host = String(rest)
        }
        guard !host.isEmpty else { return nil }
        self.init(location: .tcp(host: host, port: port), database: database, username: username, password: password)
    }

    /// The URL without its password, for logs.
    public var redacted: String {
        switch location {
        case .tcp(let host, let port):
            let auth = password == nil ? "" : "\(username ?? ""):***@"
            return "redis://\(auth)\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        case .unixSocket(let path):
            return "unix://\(path)?db=\(database)"
        }
    }
}

extension String {
    var removingPercentEncoding: String? {
        var out: [UInt8] = []
        var it = utf8.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
                else { return nil }
                out.append(v)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}

/// The whole configuration of the service (PRODUCT.md, "Executables and configuration"). Every
/// variable has a default that works on a developer machine; a bad value is refused with its name.
public struct AnalyticsConfiguration: Sendable {
    public var redisURL = RedisURL(location: .tcp(host: "127.0.0.1", port: 6379))
    public var databaseURL = "postgres://127.0.0.1:5432/analytics"
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

    /// One entry of the configuration table, for `--help`, the README and flag twins.
    public struct Variable: Sendable {
        public let name: String
        public let flag: String
        public let meaning: String
        let apply: @Sendable (inout AnalyticsConfiguration, String) throws(ConfigurationError) -> Void
    }

    public static let variables: [Variable] = [
        .init(name: "ANALYTICS_REDIS_URL", flag: "--redis-url", meaning: "Redis (the DB number in the path is honoured)") {
            c, v throws(ConfigurationError) in
            guard let url = RedisURL(v) else { throw bad("ANALYTICS_REDIS_URL", v, "expected redis://[:password@]host[:port][/db] or unix:///path") }
            c.redisURL = url
        },
        .init(name: "ANALYTICS_DATABASE_URL", flag: "--database-url", meaning: "PostgreSQL") { c, v throws(ConfigurationError) in
            guard v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") else {
                throw bad("ANALYTICS_DATABASE_URL", v, "expected postgres://user:password@host:port/database")
            }
            c.databaseURL = v
        },
        .init(name: "ANALYTICS_KEY_PREFIX", flag: "--key-prefix", meaning: "prefix of every Redis key, stream and channel") {
            c, v throws(ConfigurationError) in
            let ok = !v.isEmpty && v.utf8.count <= 64
                && v.unicodeScalars.allSatisfy { $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0) || "_:.-".unicodeScalars.contains($0) }
            guard ok else { throw bad("ANALYTICS_KEY_PREFIX", v, "expected 1 to 64 characters of [A-Za-z0-9_:.-]") }
            c.keyPrefix = v
        },
        .init(name: "ANALYTICS_HTTP_HOST", flag: "--http-host", meaning: "gateway listener address") { c, v throws(ConfigurationError) in
            c.httpHost = try host("ANALYTICS_HTTP_HOST", v)
        },
        .init(name: "ANALYTICS_HTTP_PORT", flag: "--http-port", meaning: "gateway listener port") { c, v throws(ConfigurationError) in
            c.httpPort = try port("ANALYTICS_HTTP_PORT", v)
        },
        .init(name: "ANALYTICS_WS_HOST", flag: "--ws-host", meaning: "WSHub listener address") { c, v throws(ConfigurationError) in
            c.wsHost = try host("ANALYTICS_WS_HOST", v)
        },
        .init(name: "ANALYTICS_WS_PORT", flag: "--ws-port", meaning: "WSHub listener port (replica i of the supervisor uses port + i)") {
            c, v throws(ConfigurationError) in
            c.wsPort = try port("ANALYTICS_WS_PORT", v)
        },
        .init(name: "ANALYTICS_WS_PING_SEC", flag: "--ws-ping-sec", meaning: "WebSocket ping period; a peer silent for two periods is closed") {
            c, v throws(ConfigurationError) in
            c.wsPingSeconds = try integer("ANALYTICS_WS_PING_SEC", v, in: 1...3600)
        },
        .init(name: "ANALYTICS_WS_CLIENT_QUEUE", flag: "--ws-client-queue", meaning: "messages queued for one WebSocket client before it is closed as too slow") {
            c, v throws(ConfigurationError) in
            c.wsClientQueue = try integer("ANALYTICS_WS_CLIENT_QUEUE", v, in: 1...100_000)
        },
        .init(
            name: "ANALYTICS_WS_COHORT_CLIENTS", flag: "--ws-cohort-clients",
            meaning: "clients per cohort below which the hub writes to its 8 cohorts together rather than in turn"
        ) { c, v throws(ConfigurationError) in
            c.wsCohortClients = try integer("ANALYTICS_WS_COHORT_CLIENTS", v, in: 1...1_000_000)
        },
        .init(name: "ANALYTICS_WS_MAX_CONNECTIONS", flag: "--ws-max-connections", meaning: "most WebSocket clients one hub serves at once") {
            c, v throws(ConfigurationError) in
            c.wsMaxConnections = try integer("ANALYTICS_WS_MAX_CONNECTIONS", v, in: 1...1_000_000)
        },
        .init(name: "ANALYTICS_WS_ALLOWED_ORIGINS", flag: "--ws-allowed-origins", meaning: "comma-separated origins allowed to open a WebSocket; empty: any") {
            c, v throws(ConfigurationError) in
            var origins: [String] = []
            for item in v.split(separator: ",") {
                let origin = item.trimmed(of: " \t")
                guard !origin.isEmpty else { continue }
                guard origin.hasPrefix("http://") || origin.hasPrefix("https://"), !origin.dropFirst(8).contains("/") else {
                    throw bad("ANALYTICS_WS_ALLOWED_ORIGINS", v, "'\(origin)' is not an origin like https://site.example")
                }
                origins.append(origin.lowercased())
            }
            c.wsAllowedOrigins = origins
        },
        .init(name: "ANALYTICS_WSHUB_REPLICAS", flag: "--wshub-replicas", meaning: "WSHub processes the supervisor runs") {
            c, v throws(ConfigurationError) in
            c.wshubReplicas = try integer("ANALYTICS_WSHUB_REPLICAS", v, in: 1...64)
        },
        .init(name: "ANALYTICS_ADMIN_PORT", flag: "--admin-port", meaning: "/metrics and /healthz of a process without an HTTP listener of its own") {
            c, v throws(ConfigurationError) in
            c.adminPort = try port("ANALYTICS_ADMIN_PORT", v)
        },
        .init(name: "ANALYTICS_COOKIES", flag: "--cookies", meaning: "off: identify visitors without setting cookies") {
            c, v throws(ConfigurationError) in
            switch v.lowercased() {
            case "on", "true", "1", "yes": c.cookies = true
            case "off", "false", "0", "no": c.cookies = false
            default: throw bad("ANALYTICS_COOKIES", v, "expected on or off")
            }
        },
        .init(name: "ANALYTICS_TRUSTED_PROXIES", flag: "--trusted-proxies", meaning: "proxies (CIDR list) whose X-Forwarded-For is believed") {
            c, v throws(ConfigurationError) in
            var networks: [IPNetwork] = []
            for item in v.split(separator: ",") where !item.allSatisfy({ $0 == " " }) {
                guard let network = IPNetwork(item) else {
                    throw bad("ANALYTICS_TRUSTED_PROXIES", v, "'\(item)' is not an address or CIDR block")
                }
                networks.append(network)
            }
            c.trustedProxies = networks
        },
        .init(name: "ANALYTICS_RATE_LIMIT", flag: "--rate-limit", meaning: "events one client may send per minute; 0 turns the limit off") {
            c, v throws(ConfigurationError) in
            c.rateLimitPerMinute = try integer("ANALYTICS_RATE_LIMIT", v, in: 0...10_000_000)
        },
        .init(name: "ANALYTICS_WORKER_WATCHDOG_SEC", flag: "--worker-watchdog-sec", meaning: "a worker silent this long is restarted by the supervisor") {
            c, v throws(ConfigurationError) in
            c.workerWatchdogSeconds = try integer("ANALYTICS_WORKER_WATCHDOG_SEC", v, in: 1...3600)
        },
        .init(name: "ANALYTICS_RAW_RETENTION_DAYS", flag: "--raw-retention-days", meaning: "raw events kept in PostgreSQL") {
            c, v throws(ConfigurationError) in
            c.rawRetentionDays = try integer("ANALYTICS_RAW_RETENTION_DAYS", v, in: 1...36_500)
        },
        .init(name: "ANALYTICS_ARCHIVE_RETENTION_DAYS", flag: "--archive-retention-days", meaning: "daily rollups and archive files kept") {
            c, v throws(ConfigurationError) in
            c.archiveRetentionDays = try integer("ANALYTICS_ARCHIVE_RETENTION_DAYS", v, in: 1...36_500)
        },
        .init(name: "ANALYTICS_ARCHIVE_DIR", flag: "--archive-dir", meaning: "where raw events are exported before their partition is dropped") {
            c, v throws(ConfigurationError) in
            guard !v.isEmpty else { throw bad("ANALYTICS_ARCHIVE_DIR", v, "must not be empty") }
            c.archiveDirectory = v
        },
        .init(name: "ANALYTICS_METRICS_NAMESPACE", flag: "--metrics-namespace", meaning: "prefix of the business metrics") {
            c, v throws(ConfigurationError) in
            let scalars = Array(v.unicodeScalars)
            let ok = !scalars.isEmpty && scalars.count <= 64
                && scalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
                && !("0"..."9").contains(scalars[0])
            guard ok else { throw bad("ANALYTICS_METRICS_NAMESPACE", v, "expected a Prometheus name prefix [a-zA-Z_][a-zA-Z0-9_]*") }
            c.metricsNamespace = v
        },
        .init(name: "ANALYTICS_LOG_LEVEL", flag: "--log-level", meaning: "trace, debug, info, notice, warning, error or critical") {
            c, v throws(ConfigurationError) in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(v.lowercased()) else { throw bad("ANALYTICS_LOG_LEVEL", v, "expected one of \(levels.joined(separator: ", "))") }
            c.logLevel = v.lowercased()
        },
        .init(name: "ANALYTICS_CONSUMER_NAME", flag: "--consumer-name", meaning: "this process's consumer name in the stream's groups (default: host name)") {
            c, v throws(ConfigurationError) in
            guard !v.isEmpty, v.utf8.count <= 128, !v.contains(" ") else {
                throw bad("ANALYTICS_CONSUMER_NAME", v, "expected 1 to 128 characters without spaces")
            }
            c.consumerName = v
        },
        .init(name: "ANALYTICS_MIGRATIONS_DIR", flag: "--migrations-dir", meaning: "directory of the SQL migrations (default: found beside the executable or in the checkout)") {
            c, v throws(ConfigurationError) in
            guard !v.isEmpty else { throw bad("ANALYTICS_MIGRATIONS_DIR", v, "must not be empty") }
            c.migrationsDirectory = v
        },
        .init(name: "ANALYTICS_ACTIVE_WINDOW_SEC", flag: "--active-window-sec", meaning: "how long a visitor counts as current after their last event") {
            c, v throws(ConfigurationError) in
            c.activeWindowSeconds = try integer("ANALYTICS_ACTIVE_WINDOW_SEC", v, in: 1...86_400)
        },
    ]

    /// Reads the configuration from the environment, then from `--flag value` / `--flag=value`
    /// twins (which win). Arguments that are not flags are returned (the archiver's subcommands).
    public static func load(
        environment: [String: String], arguments: [String] = []
    ) throws(ConfigurationError) -> (AnalyticsConfiguration, positional: [String]) {
        var configuration = AnalyticsConfiguration()
        for variable in variables {
            if let value = environment[variable.name] {
                try variable.apply(&configuration, value)
            }
        }
        var positional: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            guard argument.hasPrefix("--") else {
                positional.append(argument)
                continue
            }
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard let variable = variables.first(where: { $0.flag == name }) else {
                // Not one of ours: the caller interprets it (e.g. `rebuild --since DAY`).
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
            try variable.apply(&configuration, value)
        }
        return (configuration, positional)
    }

    static func bad(_ name: String, _ value: String, _ expected: String) -> ConfigurationError {
        ConfigurationError(variable: name, message: "invalid value '\(value)': \(expected)")
    }

    static func port(_ name: String, _ value: String) throws(ConfigurationError) -> Int {
        try integer(name, value, in: 1...65535)
    }

    static func integer(_ name: String, _ value: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let n = Int(value.trimmingSpaces), range.contains(n) else {
            throw bad(name, value, "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    static func host(_ name: String, _ value: String) throws(ConfigurationError) -> String {
        guard !value.isEmpty, !value.contains(" ") else { throw bad(name, value, "expected a host name or address") }
        return value
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "consumer" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "consumer" : name
    }
}
