import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /api/analytics/event`: rate limit, validation, visitor identification, then publish.
/// Answers 201 only once the event is on the stream; a refused event leaves nothing behind.
public struct EventIngest: Sendable {
    let publisher: EventPublisher
    let visitors: VisitorIdentifier
    let addresses: ClientAddressResolver
    let limiter: ClientRateLimiter
    let metrics: GatewayMetrics
    let ids: UUIDv7Generator

    public init(
        publisher: EventPublisher, visitors: VisitorIdentifier, addresses: ClientAddressResolver, limiter: ClientRateLimiter,
        metrics: GatewayMetrics, ids: UUIDv7Generator = UUIDv7Generator()
    ) {
        self.publisher = publisher
        self.visitors = visitors
        self.addresses = addresses
        self.limiter = limiter
        self.metrics = metrics
        self.ids = ids
    }

    func clientAddress(request: Request, context: GatewayRequestContext) -> IPAddress? {
        let forwarded = addresses.trustedProxies.isEmpty ? [] : request.headers[values: .forwardedFor]
        return addresses.clientAddress(peer: context.peerAddress, forwardedFor: forwarded)
    }

    func identify(request: Request, context: GatewayRequestContext, nowMilliseconds: Int64) async throws -> VisitorIdentity {
        try await visitors.identify(
            cookieHeader: request.headers[.cookie], clientAddress: clientAddress(request: request, context: context),
            userAgent: request.headers[.userAgent] ?? "", nowMilliseconds: nowMilliseconds)
    }

    func handle(_ request: Request, context: GatewayRequestContext) async -> Response {
        let client = clientAddress(request: request, context: context)
        if limiter.isEnabled, let retryAfter = limiter.take(client: UInt64(bitPattern: Int64(client?.hashValue ?? 0))) {
            metrics.recordRateLimited()
            return JSONResponse.error(
                "rate limit: at most \(limiter.limitPerMinute) events a minute per client", status: .tooManyRequests,
                retryAfter: retryAfter)
        }

        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: EventRules.maximumBodyBytes)
        } catch {
            metrics.recordRejected(rule: "body.size")
            return JSONResponse.error("body: at most \(EventRules.maximumBodyBytes) bytes", status: .contentTooLarge)
        }
        let validated: ValidatedEventBody
        switch EventRules.validate(body: Array(body.readableBytesView), refererHeader: request.headers[.referer]) {
        case .success(let v):
            validated = v
        case .failure(let rejection):
            metrics.recordRejected(rule: rejection.rule)
            return JSONResponse.error(rejection.message, status: .init(code: rejection.status))
        }

        let now = EpochClock.milliseconds()
        let identity: VisitorIdentity
        do {
            identity = try await visitors.identify(
                cookieHeader: request.headers[.cookie], clientAddress: client, userAgent: request.headers[.userAgent] ?? "",
                nowMilliseconds: now)
        } catch {
            metrics.recordPublishFailure(.unavailable("\(error)"))
            return JSONResponse.error("event not recorded: storage unavailable, retry later", status: .serviceUnavailable, retryAfter: 1)
        }
        let event = AnalyticsEvent(
            id: ids.next(nowMilliseconds: now), visitorID: identity.visitorID, eventType: validated.eventType,
            eventData: validated.eventData, pageURL: validated.pageURL, referrer: validated.referrer, createdAt: now)
        let start = ContinuousClock.now
        do {
            try await publisher.publish(event)
        } catch {
            metrics.recordPublishFailure(error)
            return JSONResponse.error("event not recorded: storage unavailable, retry later", status: .serviceUnavailable, retryAfter: 1)
        }
        metrics.recordPublish(ContinuousClock.now - start)
        metrics.recordAccepted(.api)

        var json = JSONText(capacity: 96)
        json.raw(#"{"success":true,"message":"Event tracked","id":"#)
        json.string(event.id.lowercasedString)
        json.raw("}")
        var response = JSONResponse.make(json, status: .created)
        if identity.setCookie {
            response.headers[.setCookie] = VisitorIdentifier.setCookieHeader(for: identity.visitorID)
        }
        return response
    }
}

extension HTTPField.Name {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}
