import AnalyticsCore
import HTTPTypes
import Hummingbird

/// CORS for the public routes (`/api/…` and the tracker script) answered by the router: a preflight
/// (`OPTIONS` with an `Origin`) gets `204` with what a browser needs to send the event or read the
/// answer, or `403` from an origin not allowed; other answers carry `Access-Control-Allow-Origin`
/// for an allowed origin. The event route's own answers carry it too (``EventIngest``).
struct CrossOriginMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let origins: OriginPolicy

    /// How long a browser may reuse a preflight's answer.
    static let maximumAge = "86400"

    static func isPublic(_ path: String) -> Bool {
        path.hasPrefix("/api/") || path.hasPrefix("/js/")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], Self.isPublic(request.uri.path) else {
            return try await next(request, context)
        }
        let allowOrigin = origins.allowOriginHeader(for: origin)
        if request.method == .options {
            guard let allowOrigin else {
                return JSONResponse.error("origin: \(origin) may not use this API", status: .forbidden)
            }
            var response = Response(status: .noContent)
            Self.add(allowOrigin, to: &response.headers)
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "Content-Type, Authorization"
            response.headers[.accessControlMaxAge] = Self.maximumAge
            return response
        }
        var response = try await next(request, context)
        if let allowOrigin { Self.add(allowOrigin, to: &response.headers) }
        return response
    }

    static func add(_ allowOrigin: (value: String, variesByOrigin: Bool), to headers: inout HTTPFields) {
        headers[.accessControlAllowOrigin] = allowOrigin.value
        if allowOrigin.variesByOrigin { headers[.vary] = "Origin" }
    }
}
