import AnalyticsCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The decision on `POST /api/analytics/event`: the gateway's own rate limit (``ClientRateLimiter``),
/// validation against `EventRules`, visitor identification (``VisitorIdentifier``), then
/// publication to the stream (``EventPublisher``), which also applies the limits shared by every
/// gateway (rate limit, stream ceiling, idempotent ids). Answers 201 only once the event is on the
/// stream; a refused event leaves nothing behind.
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
    /// The web origins that may send events (`ANALYTICS_ALLOWED_ORIGINS`).
    public let origins: OriginPolicy
    /// Recognises bots by their user agent; nil when the bot filter is off.
    public let bots: CrawlerMatcher?
    /// Referrer spam, dropped like bots.
    public let blockedReferrers: ReferrerBlocklist
    /// Takes the query parameters that are not to be stored out of page URLs and referrers.
    public let queryFilter: QueryParameterFilter
    /// Gives events the country of the client's address (`ANALYTICS_GEOIP_DB`); nil when unset.
    public let geoIP: GeoIPDatabase?
    /// Derives each event's dimensions (browser, system, device, country, page, source).
    let dimensions: EventDimensionDeriver
    /// Names clients in the shared rate limit.
    let clientKeys: ClientKey
    let refusals: IngestRefusalLog

    /// The rules checked on a request's head, before its body is read (labels of
    /// `analytics_gateway_events_rejected_total`).
    public static let requestRuleNames = ["origin", "content_type"]

    /// - Parameters:
    ///   - publisher: puts accepted events on the stream.
    ///   - visitors: gives each event its visitor id.
    ///   - addresses: finds the client's address, behind trusted proxies.
    ///   - limiter: the per-client rate limit.
    ///   - metrics: counts accepted, refused and failed events.
    ///   - ids: gives each event its time-ordered UUIDv7 id.
    ///   - origins: the web origins that may send events; the others get 403.
    ///   - bots: the bot filter (nil: off): a bot's events are answered 202 and not kept.
    ///   - blockedReferrers: referrer spam, dropped the same way.
    ///   - queryFilter: the query parameters kept in stored URLs.
    ///   - geoIP: the country database (nil: events get no country).
    ///   - clientKeys: names clients in the shared rate limit (from the deployment's secret).
    ///   - logger: where refusals of the whole ingest (the stream full) are reported.
    public init(
        publisher: EventPublisher, visitors: VisitorIdentifier, addresses: ClientAddressResolver, limiter: ClientRateLimiter,
        metrics: GatewayMetrics, ids: UUIDv7Generator = UUIDv7Generator(), origins: OriginPolicy = .any, bots: CrawlerMatcher? = nil,
        blockedReferrers: ReferrerBlocklist = ReferrerBlocklist(), queryFilter: QueryParameterFilter = QueryParameterFilter(),
        geoIP: GeoIPDatabase? = nil, clientKeys: ClientKey, logger: Logger
    ) {
        self.queryFilter = queryFilter
        self.geoIP = geoIP
        self.dimensions = EventDimensionDeriver(bots: bots ?? CrawlerMatcher(), geoIP: geoIP)
        self.clientKeys = clientKeys
        self.refusals = IngestRefusalLog(logger: logger)
        self.origins = origins
        self.bots = bots
        self.blockedReferrers = blockedReferrers
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

    /// Whether a request comes from a bot (empty or crawler user agent), when the filter is on.
    func isBot(userAgent: String?) -> Bool {
        guard let bots else { return false }
        return bots.verdict(userAgent ?? "").isBot
    }

    /// The 202 for a dropped event, counted by reason.
    private func ignored(_ reason: GatewayMetrics.DropReason, origin: String?) -> EventAnswer {
        metrics.recordDropped(reason)
        var answer = EventAnswer.ignored(reason)
        answer.allowOrigin = origins.allowOriginHeader(for: origin)
        return answer
    }

    /// The answer to an event request refused on its head alone, before its body is read: an
    /// `Origin` not allowed (403), a body that is neither JSON, plain text (what `sendBeacon` sends)
    /// nor untyped (415). Nil: read the body.
    public func refusal(head fields: HTTPFields) -> EventAnswer? {
        if !origins.allows(fields[.origin]) {
            metrics.recordRejected(rule: "origin")
            return .error("origin: \(fields[.origin] ?? "") may not send events here", status: .forbidden)
        }
        if let type = fields[.contentType], !Self.acceptsBody(ofType: type) {
            metrics.recordRejected(rule: "content_type")
            var answer = EventAnswer.error(
                "content type: send the event as application/json or text/plain", status: .unsupportedMediaType)
            answer.allowOrigin = origins.allowOriginHeader(for: fields[.origin])
            return answer
        }
        return nil
    }

    /// `application/json` or `text/plain`, whatever their parameters (`; charset=UTF-8`).
    static func acceptsBody(ofType contentType: String) -> Bool {
        // Compared as bytes: every event request carries one.
        var mediaType = contentType.utf8[...]
        if let semicolon = mediaType.firstIndex(of: UInt8(ascii: ";")) { mediaType = mediaType[..<semicolon] }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let first = mediaType.first, isBlank(first) { mediaType = mediaType.dropFirst() }
        while let last = mediaType.last, isBlank(last) { mediaType = mediaType.dropLast() }
        return equalsIgnoringASCIICase(mediaType, "application/json") || equalsIgnoringASCIICase(mediaType, "text/plain")
    }

    /// `bytes` spell `lowercase`, whatever the case of their ASCII letters.
    private static func equalsIgnoringASCIICase(_ bytes: Substring.UTF8View, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == wanted
            }
        }
    }

    /// Whether the client reached us over HTTPS: said by a trusted proxy's `X-Forwarded-Proto` (the
    /// gateway itself speaks plain HTTP, behind the proxy that terminates TLS).
    func cameOverHTTPS(peer: IPAddress?, headers: HTTPFields) -> Bool {
        guard let peer, !addresses.trustedProxies.isEmpty, addresses.isTrusted(peer),
            let proto = headers[.forwardedProto]
        else { return false }
        // A chain of proxies lists one scheme each; the first is the client's.
        return proto.split(separator: ",").first.map { $0.trimmed(of: " \t").lowercased() == "https" } ?? false
    }

    /// A request a browser made for a page of another site (the tracker on a site's pages, the
    /// gateway on its own host): a cookie set in the answer would be a third-party cookie, which
    /// browsers drop or keep apart, so none is set and the visitor gets the cookieless id.
    /// Browsers say so in `Sec-Fetch-Site`; without it, an `Origin` whose host is not the
    /// request's host is taken as another site.
    /// - Parameter authority: the request's `Host`.
    static func isCrossSite(_ fields: HTTPFields, authority: String?) -> Bool {
        if let site = fields[.secFetchSite] { return site.lowercased() == "cross-site" }
        guard let origin = fields[.origin], let authority else { return false }
        return originHost(origin) != PageDimensions.host(ofAuthority: authority)
    }

    private static func originHost(_ origin: String) -> String {
        let parts = origin.split(separator: "/", omittingEmptySubsequences: true)
        // `https://host:port` splits into `https:` and `host:port`.
        return PageDimensions.host(ofAuthority: parts.count >= 2 ? parts[1] : origin[...])
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
        if limiter.isEnabled, let retryAfter = limiter.take(client: UInt64(bitPattern: Int64(client?.clientBlock.hashValue ?? 0))) {
            metrics.recordRateLimited()
            return answer(
                .error(
                    "rate limit: at most \(limiter.limitPerMinute) events a minute per client", status: .tooManyRequests,
                    retryAfter: retryAfter))
        }
        if isBot(userAgent: fields[.userAgent]) {
            return answer(ignored(.bot, origin: fields[.origin]))
        }
        let validated: ValidatedEventBody
        switch EventRules.validate(body: Array(submission.body.readableBytesView), refererHeader: fields[.referer]) {
        case .success(let v):
            validated = v
        case .failure(let rejection):
            metrics.recordRejected(rule: rejection.rule)
            return answer(.error(rejection.message, status: .init(code: rejection.status)))
        }
        if blockedReferrers.blocks(referrer: validated.referrer) {
            return answer(ignored(.referrer, origin: fields[.origin]))
        }

        let now = EpochClock.milliseconds()
        let cookie = fields[.cookie]
        let reply = Reply(
            allowOrigin: origins.allowOriginHeader(for: fields[.origin]),
            mayKeepCookie: !Self.isCrossSite(fields, authority: submission.authority),
            secure: cameOverHTTPS(peer: submission.peer, headers: fields), client: clientKeys.name(of: client),
            userAgent: fields[.userAgent] ?? "", clientAddress: client)
        let userAgent = reply.userAgent
        if let identity = visitors.identifyWithoutWaiting(
            cookieHeader: cookie, clientAddress: client, userAgent: userAgent, nowMilliseconds: now)
        {
            return publish(validated, identity: identity, now: now, reply: reply, answer: answer)
        }
        // The day's salt is not known yet: once a day per gateway.
        Task {
            do {
                let identity = try await visitors.identify(
                    cookieHeader: cookie, clientAddress: client, userAgent: userAgent, nowMilliseconds: now)
                publish(validated, identity: identity, now: now, reply: reply, answer: answer)
            } catch {
                metrics.recordPublishFailure(.unavailable("\(error)"))
                answer(.storageUnavailable)
            }
        }
    }

    /// What the answer to an event depends on besides its outcome.
    struct Reply: Sendable {
        let allowOrigin: (value: String, variesByOrigin: Bool)?
        /// A same-site request: a cookie set in the answer would be kept.
        let mayKeepCookie: Bool
        /// The client came over HTTPS: the cookie gets `Secure`.
        let secure: Bool
        /// The client's name in the shared rate limit.
        let client: String
        /// The request's user agent and the client's address, for the event's dimensions only.
        let userAgent: String
        let clientAddress: IPAddress?
    }

    private func publish(
        _ validated: ValidatedEventBody, identity: VisitorIdentity, now: Int64, reply: Reply,
        answer: @escaping @Sendable (EventAnswer) -> Void
    ) {
        let pageURL = validated.pageURL.map(queryFilter.filtered)
        let referrer = validated.referrer.map(queryFilter.filtered)
        let event = AnalyticsEvent(
            id: validated.clientID ?? ids.next(nowMilliseconds: now), visitorID: identity.visitorID, eventType: validated.eventType,
            eventData: validated.eventData, pageURL: pageURL, referrer: referrer, createdAt: now,
            dimensions: dimensions.dimensions(
                pageURL: validated.pageURL, referrer: validated.referrer, userAgent: reply.userAgent, client: reply.clientAddress))
        let start = ContinuousClock.now
        let setCookie =
            identity.setCookie && reply.mayKeepCookie ? visitors.setCookieHeader(for: identity.visitorID, secure: reply.secure) : nil
        // The closure takes what it needs, not `self`: copying the whole ingest for every event
        // costs a retain and a release of each of its parts.
        let limitPerMinute = limiter.limitPerMinute
        publisher.publish(event, client: reply.client, idChosenByClient: validated.clientID != nil) { [metrics, refusals] result in
            var created: EventAnswer
            switch result {
            case .success(let outcome):
                metrics.recordPublish(ContinuousClock.now - start)
                if case .added = outcome { metrics.recordAccepted(.api) } else { metrics.recordRepeated() }
                var json = JSONText(capacity: 96)
                json.raw(#"{"success":true,"message":"Event tracked","id":"#)
                json.string(event.id.lowercasedString)
                json.raw("}")
                created = EventAnswer(status: .created, json: json, setCookie: setCookie)
            case .failure(.rateLimited(let retryAfter)):
                metrics.recordRateLimited()
                created = .error(
                    "rate limit: at most \(limitPerMinute) events a minute per client", status: .tooManyRequests,
                    retryAfter: retryAfter)
            case .failure(.streamFull):
                refusals.streamFull(metrics: metrics)
                created = .streamFull
            case .failure(let error):
                metrics.recordPublishFailure(error)
                created = .storageUnavailable
            }
            created.allowOrigin = reply.allowOrigin
            answer(created)
        }
    }
}

extension HTTPField.Name {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let analyticsDropped = HTTPField.Name("X-Analytics-Dropped")!
}
