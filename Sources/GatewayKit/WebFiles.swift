import HTTPTypes
import Hummingbird

/// The files the gateway serves from memory besides the tracker: the dashboard at `/`, its live
/// badge at `/embed/live`, the OpenAPI description at `/api/openapi.json`, the API reference page at
/// `/api/docs`, and the pages' scripts and styles under `/assets/`. Their text is compiled in
/// (`scripts/embed-web` copies it from `openapi/` and `web/`); the deployment's WebSocket address
/// is written into the pages when the gateway starts. Pages carry a strict Content-Security-Policy.
struct WebFiles: Sendable {
    /// Where the pages find the hub, as configured (`ANALYTICS_PUBLIC_WS_URL`, `ANALYTICS_WS_PORT`).
    struct WebSocketAddress: Sendable, Equatable {
        /// A `ws://` or `wss://` URL of `/ws/analytics`; empty: the hub's ``port`` on the page's host.
        var url: String
        /// The hub's port, used when ``url`` is empty.
        var port: Int

        /// The `connect-src` sources that let a page open the WebSocket: the configured URL's origin,
        /// or the hub's port on any host (the page's host is only known in the browser).
        var connectSources: String {
            guard !url.isEmpty else { return "ws://*:\(port) wss://*:\(port)" }
            let scheme = url.prefix { $0 != ":" }.lowercased()
            let authority = url.dropFirst(scheme.count + 3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return "\(scheme)://\(authority)"
        }
    }

    /// The placeholders of the pages' `<meta>` tags that the configured address replaces.
    static let urlPlaceholder = "__ANALYTICS_WS_URL__"
    static let portPlaceholder = "__ANALYTICS_WS_PORT__"

    /// Every file by the path it is served at.
    let byPath: [String: StaticFile]

    /// Prepares every file: pages get the WebSocket address and their security headers.
    init(webSocket: WebSocketAddress) {
        var byPath: [String: StaticFile] = [:]
        for source in Self.sources {
            guard source.isPage else {
                byPath[source.path] = StaticFile(text: source.text, contentType: source.contentType)
                continue
            }
            // Only the pages that ask for the hub's address may connect to it.
            let opensWebSocket = source.text.contains(Self.urlPlaceholder)
            let text = source.text.replacing(Self.urlPlaceholder, with: Self.attributeText(webSocket.url))
                .replacing(Self.portPlaceholder, with: String(webSocket.port))
            byPath[source.path] = StaticFile(
                text: text, contentType: source.contentType,
                headers: StaticFile.pageHeaders(
                    connectSources: opensWebSocket ? "'self' " + webSocket.connectSources : "'self'",
                    embeddable: source.path.hasPrefix("/embed/")))
        }
        self.byPath = byPath
    }

    /// The paths served, in the order of ``sources``.
    static var paths: [String] { sources.map(\.path) }

    /// Adds a route for each file, and `404` for other names under `/assets/`.
    func add(to router: Router<GatewayRequestContext>) {
        for (path, file) in byPath where !path.hasPrefix("/assets/") {
            router.get(RouterPath(path)) { request, _ in file.response(for: request.headers) }
        }
        let byPath = byPath
        router.get("/assets/:name") { request, context in
            guard let name = context.parameters.get("name"), let file = byPath["/assets/\(name)"] else {
                return JSONResponse.error("no such asset", status: .notFound)
            }
            return file.response(for: request.headers)
        }
    }

    /// Text safe inside a double-quoted HTML attribute. The configuration check already refuses
    /// quotes and angle brackets; `&` may remain in a query.
    static func attributeText(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("\"", with: "&quot;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }
}
