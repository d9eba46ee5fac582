import AnalyticsCore
import Hummingbird
import Logging
import ServiceLifecycle

/// The admin listener of a process without an HTTP listener of its own (aggregator, archiver,
/// supervisor): `GET /metrics` and `GET /healthz` on `ANALYTICS_ADMIN_PORT`.
///
/// Processes that do have a listener (gateway, hub) add the same two routes to their own router with
/// ``addRoutes(to:registry:health:)``, so every process answers them alike.
public enum AdminServer {
    /// The admin listener on `ANALYTICS_ADMIN_HOST` and `ANALYTICS_ADMIN_PORT`, as a service to run in
    /// the process's `ServiceGroup`.
    /// - Parameters:
    ///   - configuration: where to listen.
    ///   - registry: the metrics `/metrics` exposes.
    ///   - health: nil when healthy, otherwise the reason (answered with 503).
    public static func make(
        _ configuration: AnalyticsConfiguration, registry: MetricsRegistry, logger: Logger,
        health: @escaping @Sendable () async -> String?
    ) -> some Service {
        make(
            host: configuration.adminHost, port: configuration.adminPort, registry: registry, logger: logger,
            timeouts: HTTPConnectionGuard.Settings(configuration, maximumPerAddress: nil).timeouts, health: health)
    }

    /// The admin listener on an explicit address.
    /// - Parameters:
    ///   - registry: the metrics `/metrics` exposes.
    ///   - timeouts: how long a client may take to send its requests, or stay idle.
    ///   - health: nil when healthy, otherwise the reason (answered with 503).
    public static func make(
        host: String, port: Int, registry: MetricsRegistry, logger: Logger, timeouts: ConnectionDeadlines.Timeouts = .init(),
        health: @escaping @Sendable () async -> String?
    ) -> some Service {
        let router = Router()
        addRoutes(to: router, registry: registry, health: health)
        let settings = HTTPConnectionGuard.Settings(timeouts: timeouts)
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [HTTPConnectionGuard(settings: settings)])),
            configuration: .init(address: .hostname(host, port: port), serverName: "analytics-admin"),
            logger: logger)
    }

    /// Adds `GET /metrics` and `GET /healthz` to an existing router.
    /// - Parameters:
    ///   - registry: the metrics `/metrics` exposes.
    ///   - health: nil when healthy, otherwise the reason (answered with 503).
    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, registry: MetricsRegistry, health: @escaping @Sendable () async -> String?
    ) {
        router.get("/metrics") { _, _ in
            metricsResponse(registry)
        }
        router.get("/healthz") { _, _ in
            healthResponse(await health())
        }
    }

    /// The registry's Prometheus text exposition (format 0.0.4).
    public static func metricsResponse(_ registry: MetricsRegistry) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.exposition())))
    }

    /// `200 {"status":"ok"}` when `problem` is nil, otherwise `503 {"status":"unhealthy","reason":…}`;
    /// the gateway's `/readyz` answers with it too.
    public static func healthResponse(_ problem: String?) -> Response {
        let body = problem.map { #"{"status":"unhealthy","reason":\#(JSONText.quoted($0))}"# } ?? #"{"status":"ok"}"#
        return Response(
            status: problem == nil ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
