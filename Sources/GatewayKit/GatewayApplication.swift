import AnalyticsCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Assembles the gateway process: two Redis clients (one publishing events, one reading statistics
/// and salts), the event route answered on the connection's event loop (`EventRouteHandler`), the
/// router with the read routes, `/metrics`, `/healthz`, `/readyz`, the dashboard and the demonstration page, the request
/// metrics and tracking middleware, and the services in start order.
public struct GatewayApplication: ServiceApplication {
    /// The executable's name, for messages and `--help`.
    public static let processName = "analytics-gateway"
    /// What the process does, for `--help`.
    public static let summary = "Serves the HTTP API and the tracking middleware, and publishes every accepted event to the stream."

    /// Every route, the event route included: the bounded label set of the request-duration metric.
    static let routes: [(endpoint: String, method: String)] = [
        ("/api/analytics/event", "POST"), ("/api/analytics/realtime", "GET"), ("/api/analytics/stats", "GET"),
        ("/api/analytics/themes", "GET"), ("/api/analytics/letters", "GET"), ("/metrics", "GET"), ("/healthz", "GET"),
        ("/readyz", "GET"), ("/", "GET"), (HomePage.path, "GET"), ("/embed/live", "GET"), (TrackerScript.path, "GET"),
        (HistoryRoutes.timeseriesPath, "GET"), (HistoryRoutes.breakdownPath, "GET"), (HistoryRoutes.exportPath, "GET"),
        ("/api/openapi.json", "GET"), ("/api/docs", "GET"), ("/assets/:name", "GET"),
    ]

    static let serverName = "analytics-gateway"

    /// The services in start order: the Redis clients, the history's PostgreSQL pool, the pageview
    /// recorder, the HTTP server, the
    /// self-probe proving to the supervisor that the listener answers, and the `STOPPING=1`
    /// announcer. Stopped in reverse, so the server finishes its answers before the recorder finishes
    /// its pageviews and the Redis clients close.
    public let services: [any Service]
    /// The metrics served on `/metrics`.
    public let registry: MetricsRegistry
    /// What the start is logged with: the listen address and the Redis endpoint (password redacted).
    public let startMetadata: Logger.Metadata

    /// Builds the gateway; nothing listens or connects until its ``services`` run.
    /// - Parameters:
    ///   - configuration: the process's configuration.
    ///   - logger: the logger of the process and of its Redis clients.
    /// - Throws: ``ConfigurationError`` when the generated secret can be neither read nor created, or
    ///   when the GeoIP database (`ANALYTICS_GEOIP_DB`) cannot be opened.
    public init(configuration: AnalyticsConfiguration, logger: Logger) throws {
        let secret = try ServerSecret.load(configuration)
        let geoIP = try Self.openGeoIP(configuration)
        let registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        self.registry = registry
        startMetadata = ["listen": "\(configuration.httpHost):\(configuration.httpPort)", "redis": "\(configuration.redis.redacted)"]
        let publishRedis = RedisClient(configuration, name: "gateway-publish", registry: registry, logger: logger) {
            $0.commandTimeout = .seconds(1)
            $0.queueTimeout = .milliseconds(800)
        }
        let queryRedis = RedisClient(configuration, name: "gateway-query", registry: registry, logger: logger) {
            $0.commandTimeout = .seconds(1)
            $0.queueTimeout = .milliseconds(800)
        }
        let keyspace = configuration.keyspace
        let metrics = GatewayMetrics(registry: registry, routes: Self.routes)
        let publisher = EventPublisher(redis: publishRedis, keyspace: keyspace, limits: .init(configuration))
        let ingest = EventIngest(
            publisher: publisher,
            visitors: VisitorIdentifier(
                cookiesEnabled: configuration.cookies, salts: DailySaltStore(redis: queryRedis, keyspace: keyspace),
                cookie: VisitorCookie(secret: secret)),
            addresses: ClientAddressResolver(trustedProxies: configuration.trustedProxies),
            limiter: ClientRateLimiter(limitPerMinute: configuration.rateLimitPerMinute),
            metrics: metrics, origins: configuration.allowedOrigins, bots: configuration.botFilter ? CrawlerMatcher() : nil,
            blockedReferrers: configuration.blockedReferrers, queryFilter: QueryParameterFilter(keeping: configuration.keepQueryParameters),
            geoIP: geoIP, clientKeys: ClientKey(secret: secret), logger: logger)
        let recorder = PageviewRecorder(publisher: publisher, metrics: metrics, logger: logger)
        let stats = StatsReader(redis: queryRedis, keyspace: keyspace, activeWindowSeconds: configuration.activeWindowSeconds)
        let readiness = ReadinessProbe(redis: queryRedis, keyspace: keyspace)
        var postgresLogger = logger
        postgresLogger.logLevel = max(logger.logLevel, .warning)
        var timeouts = PostgresEndpoint.SessionTimeouts(configuration)
        timeouts.statement = .seconds(configuration.queryTimeoutSeconds)
        var historyConfiguration = (configuration.databaseRead ?? configuration.database).clientConfiguration(timeouts: timeouts)
        historyConfiguration.options.maximumConnections = 4
        // Connects on the first history request: ingest never waits for PostgreSQL.
        let historyPostgres = PostgresClient(configuration: historyConfiguration, backgroundLogger: postgresLogger)
        let history = HistoryRoutes(
            store: HistoryStore(client: historyPostgres, logger: postgresLogger), token: configuration.statsToken,
            deadline: .seconds(configuration.queryTimeoutSeconds + 1), logger: logger)

        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: CrossOriginMiddleware(origins: configuration.allowedOrigins))
        router.add(middleware: MethodNotAllowedMiddleware(routes: Self.routes))
        router.add(middleware: TrackingMiddleware(ingest: ingest, recorder: recorder))
        Self.addRoutes(to: router, stats: stats, readiness: readiness, registry: registry, logger: logger)
        history.add(to: router)
        WebFiles(webSocket: .init(url: configuration.publicWebSocketURL, port: configuration.wsPort)).add(to: router)

        let guardSettings = HTTPConnectionGuard.Settings(configuration, maximumPerAddress: configuration.maxConnectionsPerAddress)
        let app = Application(
            router: router,
            // Event POSTs are answered on the connection's event loop (EventRouteHandler), the
            // rest by the router. The guard in front of it times every connection out and caps
            // them per address; Hummingbird's idle timeout, which never sees the event requests,
            // would close a connection that only sends events as idle.
            server: .http1(
                configuration: .init(additionalChannelHandlers: [
                    HTTPConnectionGuard(settings: guardSettings),
                    EventRouteHandler(
                        ingest: ingest.ingest, headCheck: ingest.refusal(head:), metrics: metrics, serverName: Self.serverName),
                ])),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: Self.serverName),
            logger: logger)
        let liveness = Liveness()
        services = [
            publishRedis, queryRedis, historyPostgres, recorder, app,
            SelfProbe(host: configuration.httpHost, port: configuration.httpPort, liveness: liveness, readyStatus: "serving"),
            liveness.stoppingAnnouncer,
        ]
    }

    /// The configured GeoIP database, opened; nil when none is configured. A file that cannot be
    /// opened stops the gateway at start, as a configuration error: running on without countries
    /// would go unnoticed.
    static func openGeoIP(_ configuration: AnalyticsConfiguration) throws(ConfigurationError) -> GeoIPDatabase? {
        guard let path = configuration.geoIPDatabasePath else { return nil }
        do {
            return try GeoIPDatabase(path: path)
        } catch {
            throw ConfigurationError(variable: AnalyticsConfiguration.name(of: \.geoIPDatabasePath), message: error.description)
        }
    }

    /// Adds the routes the router answers: the read routes, `/metrics`, `/healthz`, `/readyz` and `/`.
    static func addRoutes(
        to router: Router<GatewayRequestContext>, stats: StatsReader, readiness: ReadinessProbe,
        registry: MetricsRegistry, logger: Logger
    ) {
        router.get("/api/analytics/realtime") { _, _ in
            await unavailableOnFailure(logger) {
                JSONResponse.success(data: try await stats.realtime().json)
            }
        }
        router.get("/api/analytics/stats") { request, _ in
            guard let period = period(of: request) else { return badPeriod }
            return await unavailableOnFailure(logger) {
                let s = try await stats.stats(period)
                var data = JSONText()
                data.raw("{")
                data.field("period", period.rawValue)
                data.raw(",")
                data.field("total_events", Int64(s.totalEvents))
                data.raw(",")
                data.field("letters_generated", Int64(s.lettersGenerated))
                data.raw(",")
                data.field("unique_visitors", Int64(s.uniqueVisitors))
                data.raw("}")
                return JSONResponse.success(data: data)
            }
        }
        router.get("/api/analytics/letters") { request, _ in
            guard let period = period(of: request) else { return badPeriod }
            return await unavailableOnFailure(logger) {
                let letters = try await stats.letters(period)
                var data = JSONText()
                data.raw("{")
                data.field("period", period.rawValue)
                data.raw(",")
                data.field("letters_generated", Int64(letters))
                data.raw("}")
                return JSONResponse.success(data: data)
            }
        }
        router.get("/api/analytics/themes") { request, _ in
            guard let limit = themeLimit(request.uri.queryParameters.get("limit")) else {
                return JSONResponse.error("limit: must be a whole number from 1 to 20", status: .badRequest)
            }
            return await unavailableOnFailure(logger) {
                let themes = try await stats.topThemes(limit: limit)
                var data = JSONText()
                data.raw("[")
                for (i, t) in themes.enumerated() {
                    if i > 0 { data.raw(",") }
                    data.raw("{")
                    data.field("theme", t.theme)
                    data.raw(",")
                    data.field("views", Int64(t.views))
                    data.raw("}")
                }
                data.raw("]")
                return JSONResponse.success(data: data)
            }
        }
        AdminServer.addRoutes(to: router, registry: registry) { nil }
        router.get("/readyz") { _, _ in
            let problems = await readiness.problems()
            return AdminServer.healthResponse(problems.isEmpty ? nil : problems.joined(separator: "; "))
        }
        router.get(RouterPath(TrackerScript.path)) { request, _ in
            TrackerScript.response(for: request.headers)
        }
        router.get(RouterPath(HomePage.path)) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: HomePage.html)))
        }
    }

    /// The 400 for a `period` other than day, week or month.
    static let badPeriod = JSONResponse.error("period: must be day, week or month", status: .badRequest)

    /// `period` defaults to `day`; anything but day, week or month is refused.
    static func period(of request: Request) -> Period? {
        guard let raw = request.uri.queryParameters.get("period") else { return .day }
        return Period(rawValue: raw)
    }

    /// `limit` 1–20, default 5; nil (a 400) when out of range or not a whole number.
    static func themeLimit(_ raw: String?) -> Int? {
        guard let raw else { return 5 }
        guard let n = Int(raw), (1...20).contains(n) else { return nil }
        return n
    }

    /// Runs a read route's body; a failed Redis read is answered 503 with `Retry-After: 1`.
    static func unavailableOnFailure(_ logger: Logger, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            logger.warning("statistics read failed", metadata: ["error": "\(error)"])
            // The reason stays in the log: clients learn only that they may retry.
            return JSONResponse.error("statistics unavailable, retry later", status: .serviceUnavailable, retryAfter: 1)
        }
    }
}
