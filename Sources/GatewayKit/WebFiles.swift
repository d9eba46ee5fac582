import HTTPTypes
import Hummingbird

/// The files the gateway serves from memory besides the tracker: the OpenAPI description at
/// `/api/openapi.json`, the API reference page at `/api/docs`, and the pages' scripts and styles under
/// `/assets/`. Their text is compiled in (`scripts/embed-web` copies it from `openapi/` and `web/`);
/// pages carry a strict Content-Security-Policy.
enum WebFiles {
    /// Every file by the path it is served at.
    static let byPath: [String: StaticFile] = Dictionary(
        uniqueKeysWithValues: sources.map { source in
            (
                source.path,
                StaticFile(text: source.text, contentType: source.contentType, headers: source.isPage ? StaticFile.pageHeaders : [:])
            )
        })

    /// The paths served, in the order of ``sources``.
    static var paths: [String] { sources.map(\.path) }

    /// Adds a route for each file, and `404` for other names under `/assets/`.
    static func add(to router: Router<GatewayRequestContext>) {
        for (path, file) in byPath where !path.hasPrefix("/assets/") {
            router.get(RouterPath(path)) { request, _ in file.response(for: request.headers) }
        }
        router.get("/assets/:name") { request, context in
            guard let name = context.parameters.get("name"), let file = byPath["/assets/\(name)"] else {
                return JSONResponse.error("no such asset", status: .notFound)
            }
            return file.response(for: request.headers)
        }
    }
}
