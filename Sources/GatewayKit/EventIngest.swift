import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The decision on `POST /api/analytics/event`: rate limit (``ClientRateLimiter``), validation
/// against `EventRules`, visitor identification (``VisitorIdentifier``), then publication to the
/// stream (``EventPublisher``). Answers 201 only once the event is on the stream; a refused event
/// leaves nothing behind.
///
/// The event route's channel handler calls it on the connection's event loop, so it never blocks:
/// the answer comes back through a callback. The tracking middleware uses it to identify the
/// visitor of a page.
public struct EventIngest: Sendable {
    let publisher: EventPublisher
    let visitors: VisitorIdentifier
    let addresses: ClientAddressResolver
    let limiter: ClientRateLimiter
    let metrics: GatewayMetrics
    let ids: UUIDv7Generator

    /// - Parameters:
    ///   - publisher: puts accepted events on the stream.
    ///   - visitors: gives each event its visitor id.
    ///   - addresses: finds the client's address, behind trusted proxies.
    ///   - limiter: the per-client rate limit.
    ///   - metrics: counts accepted, refused and failed events.
    ///   - ids: gives each event its time-ordered UUIDv7 id.
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
        clientAddress(peer: context.peerAddress, headers: request.headers)
    }

    /// The client behind the peer: `X-Forwarded-For` is read only when proxies are trusted.
    func clientAddress(peer: IPAddress?, headers: HTTPFields) -> IPAddress? {
        let forwarded = addresses.trustedProxies.isEmpty ? [] : headers[values: .forwardedFor]
        return addresses.clientAddress(peer: peer, forwardedFor: forwarded)
    }

    /// The visitor of a request that went through the router (the tracking middleware's pages).
    func identify(request: Request, context: GatewayRequestContext, nowMilliseconds: Int64) async throws -> VisitorIdentity {
        try await visitors.identify(
            cookieHeader: request.headers[.cookie], clientAddress: clientAddress(request: request, context: context),
            userAgent: request.headers[.userAgent] ?? "", nowMilliseconds: nowMilliseconds)
    }

    /// Decides on one event POST. `answer` is called exactly once: at once for a refusal, from the
    /// Redis client's thread once the event is on the stream (or could not be put there), or from a
    /// task when the day's cookieless salt has to be fetched first.
    /// - Parameters:
    ///   - submission: the request as read off the connection.
    ///   - answer: receives the answer, exactly once, on any thread.
    public func ingest(_ submission: EventSubmission, answer: @escaping @Sendable (EventAnswer) -> Void) {
        let fields = submission.headers
        let client = clientAddress(peer: submission.peer, headers: fields)
        if limiter.isEnabled, let retryAfter = limiter.take(client: UInt64(bitPattern: Int64(client?.hashValue ?? 0))) {
            metrics.recordRateLimited()
            return answer(
                .error(
                    "rate limit: at most \(limiter.limitPerMinute) events a minute per client", status: .tooManyRequests,
                    retryAfter: retryAfter))
        }
        let validated: ValidatedEventBody
        switch EventRules.validate(body: Array(submission.body.readableBytesView), refererHeader: fields[.referer]) {
        case .success(let v):
            validated = v
        case .failure(let rejection):
            metrics.recordRejected(rule: rejection.rule)
            return answer(.error(rejection.message, status: .init(code: rejection.status)))
        }

        let now = EpochClock.milliseconds()
        let cookie = fields[.cookie]
        let userAgent = fields[.userAgent] ?? ""
        if let identity = visitors.identifyWithoutWaiting(
            cookieHeader: cookie, clientAddress: client, userAgent: userAgent, nowMilliseconds: now)
        {
            return publish(validated, identity: identity, now: now, answer: answer)
        }
        // The day's salt is not known yet: once a day per gateway.
        Task {
            do {
                let identity = try await visitors.identify(
                    cookieHeader: cookie, clientAddress: client, userAgent: userAgent, nowMilliseconds: now)
                publish(validated, identity: identity, now: now, answer: answer)
            } catch {
                metrics.recordPublishFailure(.unavailable("\(error)"))
                answer(.storageUnavailable)
            }
        }
    }

    private func publish(
        _ validated: ValidatedEventBody, identity: VisitorIdentity, now: Int64, answer: @escaping @Sendable (EventAnswer) -> Void
    ) {
        let event = AnalyticsEvent(
            id: ids.next(nowMilliseconds: now), visitorID: identity.visitorID, eventType: validated.eventType,
            eventData: validated.eventData, pageURL: validated.pageURL, referrer: validated.referrer, createdAt: now)
        let start = ContinuousClock.now
        publisher.publish(event) { [metrics] result in
            switch result {
            case .success:
                metrics.recordPublish(ContinuousClock.now - start)
                metrics.recordAccepted(.api)
                var json = JSONText(capacity: 96)
                json.raw(#"{"success":true,"message":"Event tracked","id":"#)
                json.string(event.id.lowercasedString)
                json.raw("}")
                answer(
                    EventAnswer(
                        status: .created, json: json,
                        setCookie: identity.setCookie ? VisitorIdentifier.setCookieHeader(for: identity.visitorID) : nil))
            case .failure(let error):
                metrics.recordPublishFailure(error)
                answer(.storageUnavailable)
            }
        }
    }
}

extension HTTPField.Name {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}
