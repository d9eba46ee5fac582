import AnalyticsCore
import Hummingbird
import Logging
import ServiceLifecycle

/// The admin listener of a process without an HTTP listener of its own (aggregator, archiver,
/// supervisor): `GET /metrics` and `GET /healthz` on `ANALYTICS_ADMIN_PORT`.
public enum AdminServer {
    /// The admin listener on the configured host and `ANALYTICS_ADMIN_PORT`.
    /// - Parameter health: nil when healthy, otherwise the reason (answered with 503).
    public static func make(
        _ configuration: AnalyticsConfiguration, registry: MetricsRegistry, logger: Logger,
        health: @escaping @Sendable () async -> String?
    ) -> some Service {
        make(host: configuration.httpHost, port: configuration.adminPort, registry: registry, logger: logger, health: health)
    }

    /// - Parameter health: nil when healthy, otherwise the reason (answered with 503).
    public static func make(
        host: String, port: Int, registry: MetricsRegistry, logger: Logger,
        health: @escaping @Sendable () async -> String?
    ) -> some Service {
        let router = Router()
        addRoutes(to: router, registry: registry, health: health)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "analytics-admin"),
            logger: logger)
    }

    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, registry: MetricsRegistry, health: @escaping @Sendable () async -> String?
    ) {
        router.get("/metrics") { _, _ in
            metricsResponse(registry)
        }
        router.get("/healthz") { _, _ in
            await healthResponse(await health())
        }
    }

    public static func metricsResponse(_ registry: MetricsRegistry) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.exposition())))
    }

    public static func healthResponse(_ problem: String?) -> Response {
        let body = problem.map { #"{"status":"unhealthy","reason":\#(JSONText.quoted($0))}"# } ?? #"{"status":"ok"}"#
        return Response(
            status: problem == nil ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
