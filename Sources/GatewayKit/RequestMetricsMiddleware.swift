import AnalyticsCore
import HTTPTypes
import Hummingbird

/// Times every request into `<namespace>_analytics_request_duration_seconds{endpoint,method}`,
/// labelled by the matched route (a bounded set), not by the raw path.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        defer {
            metrics.recordRequest(endpoint: context.endpointPath, method: request.method.rawValue, duration: ContinuousClock.now - start)
        }
        return try await next(request, context)
    }
}
