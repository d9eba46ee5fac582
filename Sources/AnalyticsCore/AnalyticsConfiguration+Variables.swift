extension AnalyticsConfiguration {
    /// One entry of the configuration table: an environment variable, its `--flag` twin, what it
    /// means, and how its value is checked and stored.
    public struct Variable: Sendable {
        /// The environment variable, `ANALYTICS_…`.
        public let name: String
        /// One line for `--help` and the README.
        public let meaning: String
        /// The configuration field it sets, by which code names the variable (`name(of:)`).
        public let field: any PartialKeyPath<AnalyticsConfiguration> & Sendable
        /// A secret: its value is never repeated in an error message.
        public let isSecret: Bool
        private let store: @Sendable (String, inout AnalyticsConfiguration) throws(InvalidValue) -> Void

        /// The flag twin: the name without `ANALYTICS_`, in lower case, with dashes (`--http-port`).
        public var flag: String {
            "--" + String(name.dropFirst("ANALYTICS_".count).lowercased().map { $0 == "_" ? "-" : $0 })
        }

        /// Declares a variable whose value `parse` checks and converts before it is stored in `field`.
        /// - Parameters:
        ///   - name: the environment variable.
        ///   - field: the field the value goes to.
        ///   - meaning: one line for `--help` and the README.
        ///   - redact: a secret, whose value is never repeated in an error message.
        ///   - parse: checks a value and turns it into the field's type, or says what was expected.
        public init<Value>(
            _ name: String, _ field: any WritableKeyPath<AnalyticsConfiguration, Value> & Sendable, _ meaning: String,
            redact: Bool = false, parse: @escaping @Sendable (String) throws(InvalidValue) -> Value
        ) {
            self.name = name
            self.isSecret = redact
            self.meaning = meaning
            self.field = field
            store = { value, configuration throws(InvalidValue) in configuration[keyPath: field] = try parse(value) }
        }

        /// Checks `value` and stores it in `configuration`.
        /// - Throws: `ConfigurationError` naming this variable.
        public func apply(_ value: String, to configuration: inout AnalyticsConfiguration) throws(ConfigurationError) {
            do {
                try store(value, &configuration)
            } catch {
                throw ConfigurationError(variable: name, value: isSecret ? "(hidden)" : Redaction.redactingPasswords(in: value), error)
            }
        }
    }

    /// The environment variable that sets `field`, for code that hands configuration on (the
    /// supervisor to its workers, the tests to the processes they start).
    ///
    /// A field that no variable sets is a programming error: it traps.
    public static func name(of field: PartialKeyPath<AnalyticsConfiguration>) -> String {
        guard let variable = variables.first(where: { $0.field as PartialKeyPath<AnalyticsConfiguration> == field }) else {
            preconditionFailure("no configuration variable sets \(field)")
        }
        return variable.name
    }

    /// Every variable, in the order `--help` lists them.
    public static let variables: [Variable] = [
        Variable("ANALYTICS_REDIS_URL", \.redis, "Redis (the DB number in the path is honoured)") { v throws(InvalidValue) in
            guard let endpoint = RedisEndpoint(url: v) else {
                throw InvalidValue(expected: "redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]")
            }
            return endpoint
        },
        Variable("ANALYTICS_DATABASE_URL", \.database, "PostgreSQL (postgres://user:password@host:port/database[?sslmode=…])") {
            v throws(InvalidValue) in try PostgresEndpoint(url: v)
        },
        Variable("ANALYTICS_KEY_PREFIX", \.keyPrefix, "prefix of every Redis key, stream and channel") { v throws(InvalidValue) in
            let ok =
                !v.isEmpty && v.utf8.count <= 64
                && v.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || "_:.-".unicodeScalars.contains($0) }
            guard ok else { throw InvalidValue(expected: "1 to 64 characters of [A-Za-z0-9_:.-]") }
            return v
        },
        Variable("ANALYTICS_HTTP_HOST", \.httpHost, "gateway listener address", parse: host),
        Variable("ANALYTICS_HTTP_PORT", \.httpPort, "gateway listener port", parse: port),
        Variable(
            "ANALYTICS_ADMIN_HOST", \.adminHost, "address of the admin listeners (/metrics, /healthz); keep it private",
            parse: host),
        Variable(
            "ANALYTICS_HEADER_TIMEOUT_SEC", \.headerTimeoutSeconds,
            "seconds a client may take to send a request's head (the WebSocket handshake included)", parse: integer(1...3600)),
        Variable(
            "ANALYTICS_BODY_TIMEOUT_SEC", \.bodyTimeoutSeconds, "seconds a client may take to send a request's body",
            parse: integer(1...3600)),
        Variable(
            "ANALYTICS_IDLE_TIMEOUT_SEC", \.idleTimeoutSeconds, "seconds a kept-alive connection may stay idle between requests",
            parse: integer(1...86_400)),
        Variable(
            "ANALYTICS_MAX_CONNECTIONS_PER_ADDRESS", \.maxConnectionsPerAddress,
            "open connections one client address (an IPv6 /64) may hold on the gateway; beyond it 429",
            parse: integer(1...1_000_000)),
        Variable("ANALYTICS_WS_HOST", \.wsHost, "WSHub listener address", parse: host),
        Variable("ANALYTICS_WS_PORT", \.wsPort, "WSHub listener port (replica i of the supervisor uses port + i)", parse: port),
        Variable(
            "ANALYTICS_PUBLIC_WS_URL", \.publicWebSocketURL,
            "ws:// or wss:// address of /ws/analytics the dashboard opens (default: ANALYTICS_WS_PORT on the page's host)"
        ) { v throws(InvalidValue) in
            if v.isEmpty { return "" }
            let lower = v.lowercased()
            guard lower.hasPrefix("ws://") || lower.hasPrefix("wss://"), v.utf8.count <= 2048,
                let authority = v.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first, !authority.isEmpty,
                v.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && !"\"'<>`".unicodeScalars.contains($0) })
            else { throw InvalidValue(expected: "ws://host[:port]/path or wss://host[:port]/path, or empty") }
            return v
        },
        Variable(
            "ANALYTICS_WS_PING_SEC", \.wsPingSeconds, "WebSocket ping period; a peer silent for two periods is closed",
            parse: integer(1...3600)),
        Variable(
            "ANALYTICS_WS_CLIENT_QUEUE", \.wsClientQueue, "messages queued for one WebSocket client before it is closed as too slow",
            parse: integer(1...100_000)),
        Variable(
            "ANALYTICS_WS_COHORT_CLIENTS", \.wsCohortClients,
            "clients per cohort below which the hub writes to its 8 cohorts together rather than in turn", parse: integer(1...1_000_000)),
        Variable(
            "ANALYTICS_WS_MAX_CONNECTIONS", \.wsMaxConnections, "most WebSocket clients one hub serves at once",
            parse: integer(1...1_000_000)),
        Variable(
            "ANALYTICS_ALLOWED_ORIGINS", \.allowedOrigins,
            "* or comma-separated web origins that may send events and open the WebSocket (CORS); others get 403"
        ) { v throws(InvalidValue) in try OriginPolicy(parsing: v) },
        Variable(
            "ANALYTICS_WS_ALLOWED_ORIGINS", \.wsAllowedOrigins,
            "* or comma-separated origins allowed to open a WebSocket; empty: those of ANALYTICS_ALLOWED_ORIGINS"
        ) { v throws(InvalidValue) in v.trimmed(of: " \t").isEmpty ? nil : try OriginPolicy(parsing: v) },
        Variable(
            "ANALYTICS_WS_MAX_CONNECTIONS_PER_ADDRESS", \.wsMaxConnectionsPerAddress,
            "WebSocket clients one address (an IPv6 /64) may have on one hub; beyond it 429", parse: integer(1...1_000_000)),
        Variable("ANALYTICS_WSHUB_REPLICAS", \.wshubReplicas, "WSHub processes the supervisor runs", parse: integer(1...64)),
        Variable(
            "ANALYTICS_ADMIN_PORT", \.adminPort, "/metrics and /healthz of a process without an HTTP listener of its own", parse: port),
        Variable("ANALYTICS_DATA_DIR", \.dataDirectory, "where the service keeps its own state (the generated secret)", parse: nonEmpty),
        Variable(
            "ANALYTICS_SECRET", \.secret,
            "key that signs visitor cookies, at least 32 characters, the same on every gateway (default: generated into ANALYTICS_DATA_DIR)",
            redact: true
        ) { v throws(InvalidValue) in
            guard v.utf8.count >= 32 else { throw InvalidValue(expected: "at least 32 characters") }
            return v
        },
        Variable("ANALYTICS_COOKIES", \.cookies, "off: identify visitors without setting cookies", parse: onOff),
        Variable(
            "ANALYTICS_BOT_FILTER", \.botFilter,
            "on: events and pageviews with an empty or crawler user agent are answered 202 and not kept; off: keep everything",
            parse: onOff),
        Variable(
            "ANALYTICS_BLOCKED_REFERRERS", \.blockedReferrers,
            "comma-separated hosts (subdomains included) whose referrals are dropped as spam"
        ) { v throws(InvalidValue) in try ReferrerBlocklist(parsing: v) },
        Variable("ANALYTICS_TRUSTED_PROXIES", \.trustedProxies, "proxies (CIDR list) whose X-Forwarded-For is believed") {
            v throws(InvalidValue) in
            var networks: [IPNetwork] = []
            for item in v.split(separator: ",") where !item.allSatisfy({ $0 == " " }) {
                guard let network = IPNetwork(item) else {
                    throw InvalidValue(expected: "a comma-separated list of addresses or CIDR blocks ('\(item)' is not one)")
                }
                networks.append(network)
            }
            return networks
        },
        Variable(
            "ANALYTICS_RATE_LIMIT", \.rateLimitPerMinute, "events one client may send per minute; 0 turns the limit off",
            parse: integer(0...10_000_000)),
        Variable(
            "ANALYTICS_KEEP_QUERY_PARAMS", \.keepQueryParameters,
            "query parameters kept in stored page URLs and referrers besides utm_* (comma-separated); the others are removed"
        ) { v throws(InvalidValue) in
            var names: [String] = []
            for item in v.split(separator: ",") {
                let name = item.trimmed(of: " \t")
                guard !name.isEmpty else { continue }
                guard name.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || "_-.[]".unicodeScalars.contains($0) }) else {
                    throw InvalidValue(expected: "comma-separated parameter names of [A-Za-z0-9_.[]-]")
                }
                names.append(String(name))
            }
            return names
        },
        Variable(
            "ANALYTICS_GEOIP_DB", \.geoIPDatabasePath,
            "MaxMind-format country database (GeoLite2-Country, GeoIP2-Country, DB-IP lite country): events get the country of the client's address, used for the lookup and never stored; empty: no country"
        ) { v throws(InvalidValue) in v.isEmpty ? nil : v },
        Variable(
            "ANALYTICS_STREAM_MAX_EVENTS", \.streamMaxEvents,
            "events the stream may hold (not yet archived) before new ones are refused with 503", parse: integer(1000...1_000_000_000)),
        Variable(
            "ANALYTICS_IDEMPOTENCY_WINDOW_SEC", \.idempotencyWindowSeconds,
            "how long an event id chosen by the client is remembered, so a retry is not stored twice", parse: integer(60...2_592_000)),
        Variable(
            "ANALYTICS_DATABASE_READ_URL", \.databaseRead,
            "PostgreSQL the gateway reads the history from, a replica say (default: ANALYTICS_DATABASE_URL)"
        ) { v throws(InvalidValue) in v.isEmpty ? nil : try PostgresEndpoint(url: v) },
        Variable(
            "ANALYTICS_STATS_TOKEN", \.statsToken,
            "when set, the history routes (timeseries, breakdown, export.csv) need Authorization: Bearer <token>; empty: public",
            redact: true
        ) { v throws(InvalidValue) in
            guard !v.isEmpty else { return nil }
            guard v.utf8.count >= 16, v.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw InvalidValue(expected: "at least 16 visible ASCII characters")
            }
            return v
        },
        Variable(
            "ANALYTICS_QUERY_TIMEOUT_SEC", \.queryTimeoutSeconds, "PostgreSQL statement_timeout of the gateway's history queries",
            parse: integer(1...3600)),
        Variable(
            "ANALYTICS_DATABASE_STATEMENT_TIMEOUT_SEC", \.databaseStatementTimeoutSeconds,
            "PostgreSQL statement_timeout of every connection", parse: integer(1...86_400)),
        Variable(
            "ANALYTICS_DATABASE_LOCK_TIMEOUT_SEC", \.databaseLockTimeoutSeconds, "PostgreSQL lock_timeout of every connection",
            parse: integer(1...86_400)),
        Variable(
            "ANALYTICS_DATABASE_IDLE_TRANSACTION_TIMEOUT_SEC", \.databaseIdleTransactionTimeoutSeconds,
            "PostgreSQL idle_in_transaction_session_timeout of every connection", parse: integer(1...86_400)),
        Variable(
            "ANALYTICS_WORKER_WATCHDOG_SEC", \.workerWatchdogSeconds, "a worker silent this long is restarted by the supervisor",
            parse: integer(1...3600)),
        Variable("ANALYTICS_RAW_RETENTION_DAYS", \.rawRetentionDays, "raw events kept in PostgreSQL", parse: integer(1...36_500)),
        Variable(
            "ANALYTICS_ARCHIVE_RETENTION_DAYS", \.archiveRetentionDays, "daily rollups and archive files kept", parse: integer(1...36_500)),
        Variable(
            "ANALYTICS_ARCHIVE_DIR", \.archiveDirectory, "where raw events are exported before their partition is dropped", parse: nonEmpty),
        Variable("ANALYTICS_METRICS_NAMESPACE", \.metricsNamespace, "prefix of the business metrics") { v throws(InvalidValue) in
            let scalars = Array(v.unicodeScalars)
            let ok =
                !scalars.isEmpty && scalars.count <= 64
                && scalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" }
                && !("0"..."9").contains(scalars[0])
            guard ok else { throw InvalidValue(expected: "a Prometheus name prefix [a-zA-Z_][a-zA-Z0-9_]*") }
            return v
        },
        Variable("ANALYTICS_LOG_LEVEL", \.logLevel, "trace, debug, info, notice, warning, error or critical") { v throws(InvalidValue) in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(v.lowercased()) else { throw InvalidValue(expected: "one of \(levels.joined(separator: ", "))") }
            return v.lowercased()
        },
        Variable("ANALYTICS_CONSUMER_NAME", \.consumerName, "this process's consumer name in the stream's groups (default: host name)") {
            v throws(InvalidValue) in
            guard !v.isEmpty, v.utf8.count <= 128, !v.contains(" ") else {
                throw InvalidValue(expected: "1 to 128 characters without spaces")
            }
            return v
        },
        Variable(
            "ANALYTICS_MIGRATIONS_DIR", \.migrationsDirectory,
            "directory of the SQL migrations (default: found beside the executable or in the checkout)"
        ) { v throws(InvalidValue) in try nonEmpty(v) },
        Variable(
            "ANALYTICS_ACTIVE_WINDOW_SEC", \.activeWindowSeconds, "how long a visitor counts as current after their last event",
            parse: integer(1...86_400)),
    ]

    // MARK: Checks shared by several variables

    @Sendable static func port(_ value: String) throws(InvalidValue) -> Int {
        try integer(1...65535)(value)
    }

    static func integer(_ range: ClosedRange<Int>) -> @Sendable (String) throws(InvalidValue) -> Int {
        { value throws(InvalidValue) in
            guard let n = Int(value.trimmingSpaces), range.contains(n) else {
                throw InvalidValue(expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
    }

    @Sendable static func onOff(_ value: String) throws(InvalidValue) -> Bool {
        switch value.lowercased() {
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no": return false
        default: throw InvalidValue(expected: "on or off")
        }
    }

    @Sendable static func host(_ value: String) throws(InvalidValue) -> String {
        guard !value.isEmpty, !value.contains(" ") else { throw InvalidValue(expected: "a host name or address") }
        return value
    }

    @Sendable static func nonEmpty(_ value: String) throws(InvalidValue) -> String {
        guard !value.isEmpty else { throw InvalidValue(expected: "a non-empty path") }
        return value
    }
}

extension Unicode.Scalar {
    /// `[A-Za-z0-9]`.
    var isASCIIAlphanumeric: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}
