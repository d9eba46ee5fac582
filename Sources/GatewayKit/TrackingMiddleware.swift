import AnalyticsCore
import HTTPTypes
import Hummingbird

/// Records a `pageview` for every `GET` answered with an HTML page (see ``PageviewPolicy``), after
/// the handler ran and without awaiting the publish; sets the visitor cookie on that page.
struct TrackingMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let ingest: EventIngest
    let recorder: PageviewRecorder

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, PageviewPolicy.mayBePageview(path: request.uri.path) else {
            return try await next(request, context)
        }
        var response = try await next(request, context)
        guard PageviewPolicy.isPage(status: Int(response.status.code), contentType: response.headers[.contentType]) else {
            return response
        }
        // Bots and referrer spam are served the page, but their visit is not counted.
        if ingest.isBot(userAgent: request.headers[.userAgent]) {
            ingest.metrics.recordDropped(.bot)
            return response
        }
        if ingest.blockedReferrers.blocks(referrer: request.headers[.referer]) {
            ingest.metrics.recordDropped(.referrer)
            return response
        }
        let now = EpochClock.milliseconds()
        let userAgent = request.headers[.userAgent] ?? ""
        // Only the values are captured: the request and its context are not used after we return.
        guard let identity = try? await ingest.identify(request: request, context: context, nowMilliseconds: now) else {
            return response
        }
        let client = ingest.clientAddress(request: request, context: context)
        if identity.setCookie {
            let secure = ingest.cameOverHTTPS(peer: context.peerAddress, headers: request.headers)
            response.headers[.setCookie] = ingest.visitors.setCookieHeader(for: identity.visitorID, secure: secure)
        }
        // The user agent serves the event's dimensions only: it is not kept.
        var data = JSONText(capacity: 96)
        data.raw("{")
        data.field("path", String(request.uri.path.unicodeScalars.prefix(EventRules.maximumURLLength)))
        data.raw(",")
        data.field("method", "GET")
        data.raw("}")
        let pageURL = String(ingest.queryFilter.filtered(request.uri.description).unicodeScalars.prefix(EventRules.maximumURLLength))
        let referrer = request.headers[.referer].map {
            String(ingest.queryFilter.filtered($0).unicodeScalars.prefix(EventRules.maximumURLLength))
        }
        let storedURL = pageURL.contains("\u{0}") ? nil : pageURL
        let storedReferrer = referrer?.contains("\u{0}") == true ? nil : referrer
        // The stored URL is the request's path; the page's host is the request's.
        let absoluteURL = storedURL.map { "http://\(request.head.authority ?? "")\($0)" }
        recorder.record(
            AnalyticsEvent(
                id: ingest.ids.next(nowMilliseconds: now), visitorID: identity.visitorID, eventType: DomainEvent.pageview,
                eventData: data.string, pageURL: storedURL, referrer: storedReferrer, createdAt: now,
                dimensions: ingest.dimensions.dimensions(
                    pageURL: absoluteURL, referrer: storedReferrer, userAgent: userAgent, client: client)),
            client: ingest.clientKeys.name(of: client))
        return response
    }
}
