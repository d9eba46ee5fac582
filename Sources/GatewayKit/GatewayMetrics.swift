import AnalyticsCore
import Prometheus
import ServiceSupport

/// The gateway's Prometheus metrics. The business metrics fed by counted events live in the
/// aggregator (which counts each event exactly once); the gateway reports what it accepted,
/// refused and how fast it answered.
public final class GatewayMetrics: Sendable {
    /// The registry the metrics are registered in.
    public let registry: MetricsRegistry
    private let accepted: [EventSource: Counter]
    private let rejected: [String: Counter]
    private let publishFailures: [String: Counter]
    private let rateLimited: Counter
    private let ingestRefused: [IngestRefusal: Counter]
    private let repeated: Counter
    private let dropped: [DropReason: Counter]
    private let pageviewsDropped: Counter
    private let publishDuration: DurationHistogram
    /// endpoint → method → histogram: looked up without building a string per request.
    private let requestDurations: [String: [String: DurationHistogram]]
    private let otherRequests: DurationHistogram

    /// Why an event or a pageview was dropped (answered 202 for an event, not kept): the `reason`
    /// label of `analytics_gateway_events_dropped_total`.
    public enum DropReason: String, Sendable, CaseIterable {
        /// An empty or crawler user agent.
        case bot
        /// A referrer on `ANALYTICS_BLOCKED_REFERRERS`.
        case referrer
    }

    /// Why the gateway refused events whatever their client (the `reason` label of
    /// `analytics_gateway_ingest_refused_total`).
    public enum IngestRefusal: String, Sendable, CaseIterable {
        /// The stream holds `ANALYTICS_STREAM_MAX_EVENTS` entries.
        case streamFull = "stream_full"
    }

    /// Where an accepted event came from, the `source` label of
    /// `analytics_gateway_events_accepted_total`: `api` for the event route, `pageview` for the
    /// tracking middleware.
    public enum EventSource: String, Sendable, CaseIterable {
        case api, pageview
    }

    /// Registers the gateway's metrics.
    /// - Parameters:
    ///   - registry: where they are registered; its namespace prefixes the request-duration metric.
    ///   - routes: the `(endpoint, method)` pairs of the router (the bounded label set).
    public init(registry: MetricsRegistry, routes: [(endpoint: String, method: String)]) {
        self.registry = registry
        let p = registry.prometheus
        var accepted: [EventSource: Counter] = [:]
        for source in EventSource.allCases {
            accepted[source] = p.makeCounter(
                name: "analytics_gateway_events_accepted_total", labels: [("source", source.rawValue)],
                help: "Events the gateway put on the stream (answered 201, or recorded as pageviews)")
        }
        self.accepted = accepted
        var rejected: [String: Counter] = [:]
        for rule in EventRules.ruleNames + EventIngest.requestRuleNames {
            rejected[rule] = p.makeCounter(
                name: "analytics_gateway_events_rejected_total", labels: [("rule", rule)],
                help: "Events refused with a 4xx, by the rule they broke")
        }
        self.rejected = rejected
        var failures: [String: Counter] = [:]
        for reason in ["unavailable", "in_doubt"] {
            failures[reason] = p.makeCounter(
                name: "analytics_gateway_publish_failures_total", labels: [("reason", reason)],
                help: "Events answered 503 because Redis was unavailable or the outcome of the XADD is unknown")
        }
        self.publishFailures = failures
        var dropped: [DropReason: Counter] = [:]
        for reason in DropReason.allCases {
            dropped[reason] = p.makeCounter(
                name: "analytics_gateway_events_dropped_total", labels: [("reason", reason.rawValue)],
                help: "Events and pageviews dropped by the bot filter or the referrer blocklist (answered 202, not kept)")
        }
        self.dropped = dropped
        rateLimited = p.makeCounter(
            name: "analytics_gateway_rate_limited_total", help: "Events refused with 429 by the per-client rate limit")
        var refused: [IngestRefusal: Counter] = [:]
        for reason in IngestRefusal.allCases {
            refused[reason] = p.makeCounter(
                name: "analytics_gateway_ingest_refused_total", labels: [("reason", reason.rawValue)],
                help: "Events and pageviews refused (503) because the service cannot take more, by reason")
        }
        ingestRefused = refused
        repeated = p.makeCounter(
            name: "analytics_gateway_events_repeated_total",
            help: "Events whose client-chosen id was already stored: answered 201 and not stored again")
        pageviewsDropped = p.makeCounter(
            name: "analytics_gateway_pageviews_dropped_total",
            help: "Pageviews of the tracking middleware that could not be put on the stream after retries")
        publishDuration = p.makeDurationHistogram(
            name: "analytics_gateway_publish_duration_seconds", buckets: MetricsRegistry.latencyBuckets,
            help: "Time for an event to be accepted by Redis (XADD answered)")
        let durationName = registry.business("analytics_request_duration_seconds")
        let durationHelp = "Duration of analytics API requests"
        var durations: [String: [String: DurationHistogram]] = [:]
        for route in routes {
            durations[route.endpoint, default: [:]][route.method] = p.makeDurationHistogram(
                name: durationName, labels: [("endpoint", route.endpoint), ("method", route.method)],
                buckets: MetricsRegistry.latencyBuckets, help: durationHelp)
        }
        requestDurations = durations
        otherRequests = p.makeDurationHistogram(
            name: durationName, labels: [("endpoint", "other"), ("method", "other")],
            buckets: MetricsRegistry.latencyBuckets, help: durationHelp)
    }

    /// An event put on the stream.
    public func recordAccepted(_ source: EventSource) { accepted[source]?.increment() }
    /// An event refused for breaking `rule`, one of `EventRules.ruleNames` or
    /// `EventIngest.requestRuleNames` (other names are not counted, so that the label set stays
    /// bounded).
    public func recordRejected(rule: String) { rejected[rule]?.increment() }
    /// An event or a pageview dropped, not kept.
    public func recordDropped(_ reason: DropReason) { dropped[reason]?.increment() }
    /// An event refused with 429 by the rate limit.
    public func recordRateLimited() { rateLimited.increment() }
    /// Events refused whatever their client.
    public func recordIngestRefused(_ reason: IngestRefusal) { ingestRefused[reason]?.increment() }
    /// An event sent again with the id of one already stored.
    public func recordRepeated() { repeated.increment() }
    /// A pageview given up after its retries.
    public func recordPageviewDropped() { pageviewsDropped.increment() }
    /// The time Redis took to answer an accepted event's `XADD`.
    public func recordPublish(_ duration: Duration) { publishDuration.record(duration) }

    /// An event answered 503, by kind of ``EventPublisher/Failure``.
    public func recordPublishFailure(_ failure: EventPublisher.Failure) {
        switch failure {
        case .unavailable: publishFailures["unavailable"]?.increment()
        case .inDoubt: publishFailures["in_doubt"]?.increment()
        case .rateLimited: recordRateLimited()
        case .streamFull: recordIngestRefused(.streamFull)
        }
    }

    /// The duration of one request.
    /// - Parameters:
    ///   - endpoint: the matched route; nil, or a route not given to the initialiser, is counted
    ///     as `other`.
    ///   - method: the request's method, as given in the routes.
    ///   - duration: how long the request took to answer.
    public func recordRequest(endpoint: String?, method: String, duration: Duration) {
        guard let endpoint else {
            otherRequests.record(duration)
            return
        }
        (requestDurations[endpoint]?[method] ?? otherRequests).record(duration)
    }
}
