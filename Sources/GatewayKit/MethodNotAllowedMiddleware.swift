import Foundation
import HTTPTypes
import Hummingbird

/// Answers a request for a route the gateway serves, but with a method it does not serve there,
/// with `405` and the `Allow` header naming the methods it does serve (RFC 9110), instead of the
/// router's `404`. `HEAD` goes on where `GET` is served; a bare `OPTIONS` (not a CORS preflight,
/// which ``CrossOriginMiddleware`` answers) gets `204` with `Allow`.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    /// The methods of each exact path.
    let methodsByPath: [String: Set<String>]
    /// The methods of each path pattern with one parameter as its last segment (`/assets/:name`), by
    /// the pattern's prefix (`/assets/`).
    let methodsByPrefix: [String: Set<String>]

    /// - Parameter routes: every route, as ``GatewayApplication/routes`` lists them.
    init(routes: [(endpoint: String, method: String)]) {
        var exact: [String: Set<String>] = [:]
        var prefixed: [String: Set<String>] = [:]
        for route in routes {
            if let colon = route.endpoint.range(of: "/:") {
                prefixed[String(route.endpoint[..<colon.lowerBound]) + "/", default: []].insert(route.method)
            } else {
                exact[route.endpoint, default: []].insert(route.method)
            }
        }
        methodsByPath = exact
        methodsByPrefix = prefixed
    }

    /// The methods served at `path`; nil for a path the gateway does not serve.
    func methods(at path: String) -> Set<String>? {
        if let methods = methodsByPath[path] { return methods }
        for (prefix, methods) in methodsByPrefix where path.hasPrefix(prefix) && !path.dropFirst(prefix.count).contains("/") {
            return methods
        }
        return nil
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let method = request.method.rawValue
        guard let methods = methods(at: request.uri.path), !methods.contains(method),
            !(request.method == .head && methods.contains("GET"))
        else {
            return try await next(request, context)
        }
        let allow = (methods.contains("GET") ? methods.union(["HEAD"]) : methods).union(["OPTIONS"]).sorted().joined(separator: ", ")
        if request.method == .options {
            return Response(status: .noContent, headers: [.allow: allow])
        }
        var response = JSONResponse.error("method: \(method) is not served here; use \(allow)", status: .methodNotAllowed)
        response.headers[.allow] = allow
        return response
    }
}

extension HTTPField.Name {
    static let allow = HTTPField.Name("Allow")!
}
