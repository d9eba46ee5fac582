import AnalyticsCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Assembles a hub process: its Redis client (stats) and pub/sub subscription, the ``LiveHub``, and
/// the listener serving `GET /ws/analytics` (WebSocket, with ``SharedDeflateNegotiation``),
/// `/metrics` and `/healthz`; services in start order. Refused clients (origin not allowed, hub
/// full) are upgraded and closed at once with a code saying why.
public struct WSHubApplication: ServiceApplication {
    /// The executable's name, for messages and `--help`.
    public static let processName = "analytics-wshub"
    /// What the process does, for `--help`.
    public static let summary = "Pushes live metrics to dashboards over WebSocket; runs as several replicas."

    /// The WebSocket endpoint.
    public static let path = "/ws/analytics"

    /// The services in start order: the Redis client, the subscription, the listener, the hub, the
    /// self-probe proving to the supervisor that the listener answers, and the `STOPPING=1`
    /// announcer. Stopped in reverse, so the hub closes its clients (1001) before the listener stops.
    public let services: [any Service]
    /// The hub that serves the WebSocket clients.
    public let hub: LiveHub
    /// The metrics served on `/metrics`.
    public let registry: MetricsRegistry
    /// What the start is logged with: the listen address, the Redis endpoint (password redacted) and
    /// the connection cap.
    public let startMetadata: Logger.Metadata

    /// Builds the hub; nothing listens or connects until its ``services`` run.
    /// - Parameters:
    ///   - configuration: the process's configuration.
    ///   - logger: the logger of the process and of its Redis connections.
    public init(configuration: AnalyticsConfiguration, logger: Logger) {
        let registry = MetricsRegistry(namespace: configuration.metricsNamespace)
        self.registry = registry
        let metrics = HubMetrics(registry: registry)
        startMetadata = [
            "listen": "\(configuration.wsHost):\(configuration.wsPort)", "redis": "\(configuration.redis.redacted)",
            "max_connections": "\(configuration.wsMaxConnections)",
        ]
        let redis = RedisClient(configuration, name: "wshub-query", registry: registry, logger: logger) {
            $0.commandTimeout = .seconds(2)
            $0.queueTimeout = .seconds(2)
        }
        var settings = LiveHub.Settings(maximumConnections: configuration.wsMaxConnections)
        settings.clientQueueCapacity = configuration.wsClientQueue
        settings.minimumClientsPerStep = configuration.wsCohortClients
        settings.pingInterval = configuration.wsPingSeconds > 0 ? .seconds(configuration.wsPingSeconds) : nil
        let hub = LiveHub(
            settings: settings,
            statsReader: StatsReader(
                redis: redis, keyspace: configuration.keyspace, activeWindowSeconds: configuration.activeWindowSeconds),
            metrics: metrics, logger: logger)
        self.hub = hub
        let subscription = SubscriptionService(
            configuration: .init(
                endpoint: configuration.redis, channels: [configuration.keyspace.realtimeChannel],
                name: "wshub-subscribe"),
            hub: hub, logger: logger)
        let admission = AdmissionPolicy(
            allowedOrigins: configuration.wsAllowedOrigins ?? configuration.allowedOrigins, hub: hub,
            perAddress: ConnectionCounter(maximumPerAddress: configuration.wsMaxConnectionsPerAddress, exempt: configuration.trustedProxies)
        )
        let timeouts = HTTPConnectionGuard.Settings(configuration, maximumPerAddress: nil).timeouts

        let router = Router()
        AdminServer.addRoutes(to: router, registry: registry) { hub.liveness.problem(silentFor: 5) }
        // Reached when a request for the WebSocket was not upgraded: say why.
        router.get(RouterPath(Self.path)) { request, _ in
            let (status, message): (HTTPResponse.Status, String) =
                switch admission.refusal(origin: request.headers[.origin]) {
                case .origin: (.forbidden, "origin not allowed")
                case .full: (.serviceUnavailable, "too many connections, retry later")
                case .address: (.tooManyRequests, "too many connections from your address, retry later")
                case nil: (.badRequest, "WebSocket upgrade required")
                }
            var response = Response(
                status: status, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":\#(JSONText.quoted(message))}"#)))
            if status == .serviceUnavailable { response.headers[.retryAfter] = "5" }
            return response
        }

        let app = Application(
            router: router,
            // The handshake guard in front of the codecs: a handshake must arrive within the header
            // timeout; after the upgrade, the hub's pings watch the connection.
            server: HTTPServerBuilder { responder in
                GuardedChildChannel(
                    HTTP1WebSocketUpgradeChannel(
                        responder: responder,
                        configuration: .init(ws: .init(extensions: [.sharedDeflate], autoPing: .disabled, closeTimeout: .seconds(2)))
                    ) { request, channel, _ in
                        guard request.path == Self.path else { return .dontUpgrade }
                        // An origin not allowed, or an address with too many clients, is refused at
                        // the handshake (403, 429). A hub that is full upgrades and closes at once
                        // with 1013, a code a browser's reconnect logic can see (a failed upgrade
                        // gives it no reason at all).
                        let refusal = admission.refusal(origin: request.headerFields[.origin])
                        if refusal == .origin {
                            metrics.recordDropped(.origin)
                            Self.refuseHandshake(on: channel, status: .forbidden, message: "origin not allowed")
                            return .dontUpgrade
                        }
                        if refusal == nil, !admission.admitAddress(of: channel) {
                            metrics.recordDropped(.address)
                            Self.refuseHandshake(
                                on: channel, status: .tooManyRequests, message: "too many connections from your address, retry later")
                            return .dontUpgrade
                        }
                        let deflates = SharedDeflateNegotiation.negotiated(requestHeaders: request.headerFields)
                        return .upgrade([:]) { inbound, outbound, _ in
                            switch refusal {
                            case .origin?, .address?:
                                break  // refused before the upgrade
                            case .full?:
                                metrics.recordDropped(.full)
                                try? await outbound.close(.unknown(1013), reason: "too many connections, try again later")
                            case nil:
                                await ClientSession(hub: hub, metrics: metrics, channel: channel, deflates: deflates).serve(
                                    inbound: inbound, outbound: outbound)
                            }
                        }
                    }, timeouts: timeouts)
            },
            configuration: .init(address: .hostname(configuration.wsHost, port: configuration.wsPort), serverName: "analytics-wshub"),
            logger: logger)
        // The hub after the listener: stopped first, it closes every client with 1001 (going away)
        // before the listener shuts down.
        let liveness = Liveness()
        services = [
            redis, subscription, app, hub,
            SelfProbe(host: configuration.wsHost, port: configuration.wsPort, liveness: liveness, readyStatus: "serving"),
            liveness.stoppingAnnouncer,
        ]
    }

    /// Answers a WebSocket handshake that is refused (origin not allowed: `403`; too many clients
    /// from its address: `429`) and closes. (Declining the upgrade alone would have the server
    /// answer an empty `400`.) The handshake is still on the HTTP/1 codec's side of the pipeline,
    /// hence its types.
    static func refuseHandshake(on channel: any Channel, status: HTTPResponseStatus, message: String) {
        let body = #"{"error":\#(JSONText.quoted(message))}"#
        var headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Content-Length", String(body.utf8.count)), ("Connection", "close"),
        ])
        if status == .tooManyRequests { headers.add(name: "Retry-After", value: "5") }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
    }
}
