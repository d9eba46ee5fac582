import AnalyticsCore
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes the pageviews of the tracking middleware after the page has been answered, so a visit
/// never waits for Redis. A pageview that Redis refuses is retried briefly, then counted as dropped
/// (never silently); at most ``maximumInFlight`` are being published or retried at once, and those
/// beyond are dropped and counted, so an outage under load cannot pile up tasks. A pageview over
/// its client's rate limit or refused by a full stream is not retried. On shutdown, the pageviews
/// in flight are finished before Redis is closed.
public final class PageviewRecorder: Service, Sendable {
    private let publisher: EventPublisher
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let inFlight = Mutex(0)
    private let retryDelays: [Duration] = [.milliseconds(100), .milliseconds(400), .seconds(1)]
    /// Pageviews being published or retried at once; more are dropped.
    public let maximumInFlight: Int

    /// - Parameters:
    ///   - publisher: puts the pageviews on the stream.
    ///   - metrics: counts the pageviews accepted and dropped.
    ///   - logger: where a dropped pageview is reported.
    ///   - maximumInFlight: pageviews being published or retried at once; more are dropped.
    public init(publisher: EventPublisher, metrics: GatewayMetrics, logger: Logger, maximumInFlight: Int = 1024) {
        self.maximumInFlight = maximumInFlight
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
    }

    /// Publishes a pageview in the background and returns at once. A publish Redis did not take is
    /// retried after 100 ms, 400 ms and 1 s; one in doubt is not retried, since it may already be on
    /// the stream and would count twice.
    /// - Parameters:
    ///   - event: the pageview.
    ///   - client: the client's name in the shared rate limit.
    public func record(_ event: AnalyticsEvent, client: String) {
        let admitted = inFlight.withLock { count -> Bool in
            guard count < maximumInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else {
            metrics.recordPageviewDropped()
            return
        }
        Task {
            defer { inFlight.withLock { $0 -= 1 } }
            for attempt in 0...retryDelays.count {
                do throws(EventPublisher.Failure) {
                    try await publisher.publish(event, client: client)
                    metrics.recordAccepted(.pageview)
                    return
                } catch {
                    switch error {
                    case .rateLimited:
                        // Over its budget: the page was served, the visit is not counted.
                        metrics.recordRateLimited()
                        return
                    case .streamFull:
                        metrics.recordIngestRefused(.streamFull)
                        return
                    case .inDoubt:
                        // A lost connection may have written it: retrying could count it twice.
                        break
                    case .unavailable:
                        guard attempt < retryDelays.count else { break }
                        try? await Task.sleep(for: retryDelays[attempt])
                        continue
                    }
                    break
                }
            }
            metrics.recordPageviewDropped()
            logger.warning("pageview not recorded: Redis unavailable")
        }
    }

    /// Waits for the graceful shutdown, then for the pageviews in flight (3 s at most), so that they
    /// are published before the Redis client stops.
    public func run() async throws {
        try? await gracefulShutdown()
        let deadline = ContinuousClock.now + .seconds(3)
        while inFlight.withLock({ $0 }) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
