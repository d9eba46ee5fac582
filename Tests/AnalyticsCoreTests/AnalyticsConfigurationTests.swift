import AnalyticsCore
import Testing

@Suite("AnalyticsConfiguration")
struct AnalyticsConfigurationTests {
    private func load(_ environment: [String: String] = [:], _ arguments: [String] = []) throws
        -> (AnalyticsConfiguration, positional: [String])
    {
        try AnalyticsConfiguration.load(environment: environment, arguments: arguments)
    }

    private func expectRefused(
        _ environment: [String: String], _ arguments: [String] = [], variable: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try AnalyticsConfiguration.load(environment: environment, arguments: arguments)
            Issue.record("accepted \(environment) \(arguments)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.variable == variable, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("\(variable): "), sourceLocation: sourceLocation)
        }
    }

    // MARK: defaults

    @Test func defaultsMatchTheProductTable() throws {
        let (c, positional) = try load()
        #expect(positional.isEmpty)
        #expect(c.redis == RedisEndpoint(location: .tcp(host: "127.0.0.1", port: 6379), database: 0))
        #expect(c.redis == RedisEndpoint(url: "redis://127.0.0.1:6379/0"))
        #expect(c.database == PostgresEndpoint(host: "127.0.0.1", port: 5432, database: "analytics"))
        #expect(c.keyPrefix == "analytics")
        #expect(c.keyspace == RedisKeyspace(prefix: "analytics"))
        #expect(c.httpHost == "127.0.0.1")
        #expect(c.httpPort == 8080)
        #expect(c.wsHost == "127.0.0.1")
        #expect(c.wsPort == 8081)
        #expect(c.wshubReplicas == 1)
        #expect(c.adminPort == 9090)
        #expect(c.cookies == true)
        #expect(c.trustedProxies.isEmpty)
        #expect(c.rateLimitPerMinute == 600)
        #expect(c.workerWatchdogSeconds == 10)
        #expect(c.rawRetentionDays == 90)
        #expect(c.archiveRetentionDays == 365)
        #expect(c.archiveDirectory == "./archive")
        #expect(c.metricsNamespace == "maicivy")
        #expect(c.logLevel == "info")
        #expect(c.activeWindowSeconds == 300)
        #expect(!c.consumerName.isEmpty)
    }

    @Test func unrelatedEnvironmentIsIgnored() throws {
        let (c, _) = try load(["PATH": "/bin", "ANALYTICS_UNKNOWN": "x", "analytics_http_port": "1"])
        #expect(c.httpPort == 8080)
    }

    // MARK: every variable

    @Test func everyVariableIsParsed() throws {
        let (c, _) = try load([
            "ANALYTICS_REDIS_URL": "redis://:pw@redis.internal:6380/3",
            "ANALYTICS_DATABASE_URL": "postgresql://u:p@db:5433/a",
            "ANALYTICS_KEY_PREFIX": "my-app:v1.x_2",
            "ANALYTICS_HTTP_HOST": "0.0.0.0",
            "ANALYTICS_HTTP_PORT": "8000",
            "ANALYTICS_WS_HOST": "::",
            "ANALYTICS_WS_PORT": "8001",
            "ANALYTICS_WSHUB_REPLICAS": "4",
            "ANALYTICS_ADMIN_PORT": "9100",
            "ANALYTICS_COOKIES": "off",
            "ANALYTICS_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8,192.0.2.1",
            "ANALYTICS_RATE_LIMIT": "0",
            "ANALYTICS_WORKER_WATCHDOG_SEC": "30",
            "ANALYTICS_RAW_RETENTION_DAYS": "30",
            "ANALYTICS_ARCHIVE_RETENTION_DAYS": "730",
            "ANALYTICS_ARCHIVE_DIR": "/var/lib/analytics/archive",
            "ANALYTICS_METRICS_NAMESPACE": "_my_app2",
            "ANALYTICS_LOG_LEVEL": "DEBUG",
            "ANALYTICS_CONSUMER_NAME": "worker-7",
            "ANALYTICS_ACTIVE_WINDOW_SEC": "60",
            "ANALYTICS_PUBLIC_WS_URL": "wss://live.example.com/ws/analytics",
        ])
        #expect(c.publicWebSocketURL == "wss://live.example.com/ws/analytics")
        #expect(c.redis == RedisEndpoint(location: .tcp(host: "redis.internal", port: 6380), database: 3, password: "pw"))
        #expect(c.database == PostgresEndpoint(host: "db", port: 5433, username: "u", password: "p", database: "a"))
        #expect(c.keyPrefix == "my-app:v1.x_2")
        #expect(c.keyspace.stream == "my-app:v1.x_2:events")
        #expect(c.httpHost == "0.0.0.0")
        #expect(c.httpPort == 8000)
        #expect(c.wsHost == "::")
        #expect(c.wsPort == 8001)
        #expect(c.wshubReplicas == 4)
        #expect(c.adminPort == 9100)
        #expect(c.cookies == false)
        #expect(c.trustedProxies == [IPNetwork("10.0.0.0/8")!, IPNetwork("fd00::/8")!, IPNetwork("192.0.2.1")!])
        #expect(c.rateLimitPerMinute == 0)
        #expect(c.workerWatchdogSeconds == 30)
        #expect(c.rawRetentionDays == 30)
        #expect(c.archiveRetentionDays == 730)
        #expect(c.archiveDirectory == "/var/lib/analytics/archive")
        #expect(c.metricsNamespace == "_my_app2")
        #expect(c.logLevel == "debug")
        #expect(c.consumerName == "worker-7")
        #expect(c.activeWindowSeconds == 60)
    }

    @Test(arguments: [
        ("on", true), ("ON", true), ("true", true), ("1", true), ("yes", true),
        ("off", false), ("Off", false), ("false", false), ("0", false), ("no", false),
    ])
    func cookies(value: String, expected: Bool) throws {
        #expect(try load(["ANALYTICS_COOKIES": value]).0.cookies == expected)
    }

    @Test func allowedOriginsAreListedInLowerCase() throws {
        let c = try load(["ANALYTICS_WS_ALLOWED_ORIGINS": " https://Site.Example, http://localhost:8000 ,"]).0
        #expect(c.wsAllowedOrigins == .list(["https://site.example", "http://localhost:8000"]))
        #expect(try load(["ANALYTICS_WS_ALLOWED_ORIGINS": ""]).0.wsAllowedOrigins == nil)
    }

    @Test func theGeoIPDatabaseIsOffUnlessAPathIsGiven() throws {
        #expect(try load().0.geoIPDatabasePath == nil)
        #expect(try load(["ANALYTICS_GEOIP_DB": ""]).0.geoIPDatabasePath == nil)
        let path = "/var/lib/GeoIP/GeoLite2-Country.mmdb"
        #expect(try load(["ANALYTICS_GEOIP_DB": path]).0.geoIPDatabasePath == path)
        #expect(try load(["ANALYTICS_GEOIP_DB": path], ["--geoip-db="]).0.geoIPDatabasePath == nil)
        #expect(try load([:], ["--geoip-db", path]).0.geoIPDatabasePath == path)
        #expect(AnalyticsConfiguration.name(of: \.geoIPDatabasePath) == "ANALYTICS_GEOIP_DB")
    }

    @Test func integersAllowSurroundingSpaces() throws {
        #expect(try load(["ANALYTICS_HTTP_PORT": " 9000 "]).0.httpPort == 9000)
        #expect(try load(["ANALYTICS_HTTP_PORT": "1"]).0.httpPort == 1)
        #expect(try load(["ANALYTICS_HTTP_PORT": "65535"]).0.httpPort == 65535)
        #expect(try load(["ANALYTICS_RATE_LIMIT": "10000000"]).0.rateLimitPerMinute == 10_000_000)
    }

    @Test func trustedProxiesToleratesSpacesAroundEveryItem() throws {
        // Spaces before an item are accepted; spaces after a prefix length should be too.
        #expect((try? load(["ANALYTICS_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.1 "]).0.trustedProxies.count) == 2)
        let proxies = try load(["ANALYTICS_TRUSTED_PROXIES": "10.0.0.0/8 , fd00::/8"]).0.trustedProxies
        #expect(proxies == [IPNetwork("10.0.0.0/8")!, IPNetwork("fd00::/8")!])
        let spaced = try load(["ANALYTICS_TRUSTED_PROXIES": " 10.0.0.0 / 8 ,\t::ffff:0:0/96 , 192.0.2.1 "]).0.trustedProxies
        #expect(spaced == [IPNetwork("10.0.0.0/8")!, IPNetwork("0.0.0.0/0")!, IPNetwork("192.0.2.1")!])
    }

    @Test func emptyTrustedProxiesIsNone() throws {
        #expect(try load(["ANALYTICS_TRUSTED_PROXIES": ""]).0.trustedProxies.isEmpty)
        #expect(try load(["ANALYTICS_TRUSTED_PROXIES": " , "]).0.trustedProxies.isEmpty)
    }

    // MARK: bad values

    @Test(arguments: [
        ("ANALYTICS_HTTP_PORT", "0"), ("ANALYTICS_HTTP_PORT", "70000"), ("ANALYTICS_HTTP_PORT", "abc"),
        ("ANALYTICS_HTTP_PORT", ""), ("ANALYTICS_HTTP_PORT", "-1"), ("ANALYTICS_HTTP_PORT", "80.5"),
        ("ANALYTICS_WS_PORT", "0"), ("ANALYTICS_WS_PORT", "65536"), ("ANALYTICS_ADMIN_PORT", "x"),
        ("ANALYTICS_PUBLIC_WS_URL", "http://live.example.com/ws"), ("ANALYTICS_PUBLIC_WS_URL", "ws://"),
        ("ANALYTICS_PUBLIC_WS_URL", #"wss://x.example/"><script>"#), ("ANALYTICS_PUBLIC_WS_URL", "wss://a b/ws"),
        ("ANALYTICS_COOKIES", "maybe"), ("ANALYTICS_COOKIES", ""),
        ("ANALYTICS_METRICS_NAMESPACE", "1abc"), ("ANALYTICS_METRICS_NAMESPACE", "a-b"),
        ("ANALYTICS_METRICS_NAMESPACE", "a:b"), ("ANALYTICS_METRICS_NAMESPACE", ""),
        ("ANALYTICS_METRICS_NAMESPACE", "café"),
        ("ANALYTICS_KEY_PREFIX", "my prefix"), ("ANALYTICS_KEY_PREFIX", ""),
        ("ANALYTICS_KEY_PREFIX", String(repeating: "a", count: 65)), ("ANALYTICS_KEY_PREFIX", "a{b}"),
        ("ANALYTICS_KEY_PREFIX", "préfixe"),
        ("ANALYTICS_TRUSTED_PROXIES", "garbage"), ("ANALYTICS_TRUSTED_PROXIES", "10.0.0.0/8, nope"),
        ("ANALYTICS_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("ANALYTICS_WS_ALLOWED_ORIGINS", "site.example"), ("ANALYTICS_WS_ALLOWED_ORIGINS", "https://"),
        ("ANALYTICS_WS_ALLOWED_ORIGINS", "http:///"), ("ANALYTICS_WS_ALLOWED_ORIGINS", "http://a.example/path"),
        ("ANALYTICS_WS_ALLOWED_ORIGINS", "https://ok.example, ftp://x"),
        ("ANALYTICS_REDIS_URL", "http://x"), ("ANALYTICS_REDIS_URL", "redis://host:0"),
        ("ANALYTICS_REDIS_URL", "redis://host/abc"), ("ANALYTICS_REDIS_URL", ""),
        ("ANALYTICS_REDIS_URL", "redis://:%zz@host"),
        ("ANALYTICS_DATABASE_URL", "mysql://db/a"), ("ANALYTICS_DATABASE_URL", ""),
        ("ANALYTICS_HTTP_HOST", ""), ("ANALYTICS_HTTP_HOST", "a b"), ("ANALYTICS_WS_HOST", ""),
        ("ANALYTICS_WSHUB_REPLICAS", "0"), ("ANALYTICS_WSHUB_REPLICAS", "65"),
        ("ANALYTICS_RATE_LIMIT", "-1"), ("ANALYTICS_RATE_LIMIT", "10000001"), ("ANALYTICS_RATE_LIMIT", "lots"),
        ("ANALYTICS_WORKER_WATCHDOG_SEC", "0"), ("ANALYTICS_RAW_RETENTION_DAYS", "0"),
        ("ANALYTICS_ARCHIVE_RETENTION_DAYS", "36501"), ("ANALYTICS_ARCHIVE_DIR", ""),
        ("ANALYTICS_LOG_LEVEL", "verbose"), ("ANALYTICS_CONSUMER_NAME", "a b"), ("ANALYTICS_CONSUMER_NAME", ""),
        ("ANALYTICS_ACTIVE_WINDOW_SEC", "0"), ("ANALYTICS_ACTIVE_WINDOW_SEC", "86401"),
    ])
    func badValuesNameTheirVariable(name: String, value: String) {
        expectRefused([name: value], variable: name)
    }

    @Test func errorMessageQuotesTheValue() {
        do {
            _ = try AnalyticsConfiguration.load(environment: ["ANALYTICS_HTTP_PORT": "70000"])
            Issue.record("accepted")
        } catch {
            #expect(error.variable == "ANALYTICS_HTTP_PORT")
            #expect(error.message.contains("'70000'"))
            #expect(error.message.contains("1 to 65535"))
        }
    }

    // MARK: flags

    @Test func flagsWinOverTheEnvironment() throws {
        let env = ["ANALYTICS_HTTP_PORT": "8000", "ANALYTICS_COOKIES": "on"]
        #expect(try load(env, ["--http-port", "9000"]).0.httpPort == 9000)
        #expect(try load(env, ["--http-port=9000"]).0.httpPort == 9000)
        #expect(try load(env, []).0.httpPort == 8000)
        #expect(try load(env, ["--cookies=off"]).0.cookies == false)
        let (c, positional) = try load(
            [:],
            [
                "--redis-url", "unix:///tmp/r.sock?db=2", "--key-prefix=k", "--trusted-proxies", "10.0.0.0/8",
                "--log-level=warning", "--http-port=1", "--http-port=2",
            ])
        #expect(positional.isEmpty)
        #expect(c.redis == RedisEndpoint(location: .unixSocket(path: "/tmp/r.sock"), database: 2))
        #expect(c.keyPrefix == "k")
        #expect(c.trustedProxies == [IPNetwork("10.0.0.0/8")!])
        #expect(c.logLevel == "warning")
        #expect(c.httpPort == 2)  // the last occurrence wins
    }

    @Test func everyVariableHasAFlagTwin() throws {
        let names = AnalyticsConfiguration.variables.map(\.name)
        let flags = AnalyticsConfiguration.variables.map(\.flag)
        #expect(Set(names).count == names.count)
        #expect(Set(flags).count == flags.count)
        for variable in AnalyticsConfiguration.variables {
            #expect(variable.name.hasPrefix("ANALYTICS_"))
            let expectedFlag = "--" + variable.name.dropFirst("ANALYTICS_".count).lowercased().replacing("_", with: "-")
            #expect(variable.flag == expectedFlag)
            #expect(!variable.meaning.isEmpty)
        }
        for name in [
            "ANALYTICS_REDIS_URL", "ANALYTICS_DATABASE_URL", "ANALYTICS_KEY_PREFIX", "ANALYTICS_HTTP_HOST",
            "ANALYTICS_HTTP_PORT", "ANALYTICS_WS_HOST", "ANALYTICS_WS_PORT", "ANALYTICS_WSHUB_REPLICAS",
            "ANALYTICS_ADMIN_PORT", "ANALYTICS_COOKIES", "ANALYTICS_TRUSTED_PROXIES", "ANALYTICS_RATE_LIMIT",
            "ANALYTICS_WORKER_WATCHDOG_SEC", "ANALYTICS_RAW_RETENTION_DAYS", "ANALYTICS_ARCHIVE_RETENTION_DAYS",
            "ANALYTICS_ARCHIVE_DIR", "ANALYTICS_METRICS_NAMESPACE",
        ] {
            #expect(names.contains(name), "\(name) is in the configuration table")
        }
    }

    @Test func badFlagValuesNameTheVariable() {
        expectRefused([:], ["--http-port=abc"], variable: "ANALYTICS_HTTP_PORT")
        expectRefused([:], ["--http-port", "0"], variable: "ANALYTICS_HTTP_PORT")
        expectRefused([:], ["--metrics-namespace", "1abc"], variable: "ANALYTICS_METRICS_NAMESPACE")
        // A flag with no value names the flag.
        expectRefused([:], ["--http-port"], variable: "--http-port")
        // A bad environment value is refused even when a flag would override it.
        expectRefused(["ANALYTICS_HTTP_PORT": "x"], ["--http-port", "9000"], variable: "ANALYTICS_HTTP_PORT")
    }

    @Test func unknownFlagsAndPositionalArgumentsAreReturnedInOrder() throws {
        #expect(try load([:], ["rebuild", "--since", "2026-01-01"]).positional == ["rebuild", "--since", "2026-01-01"])
        let (c, positional) = try load(
            [:],
            [
                "import", "--http-port", "9000", "a.ndjson.gz", "--dry-run", "--ws-port=9001", "b.ndjson.gz", "--x=y",
            ])
        #expect(positional == ["import", "a.ndjson.gz", "--dry-run", "b.ndjson.gz", "--x=y"])
        #expect(c.httpPort == 9000)
        #expect(c.wsPort == 9001)
        // The value of a known flag is consumed even if it looks like a flag.
        let (d, rest) = try load([:], ["--archive-dir", "--weird", "x"])
        #expect(d.archiveDirectory == "--weird")
        #expect(rest == ["x"])
    }
}
