import AnalyticsCore
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes the pageviews of the tracking middleware after the page has been answered, so a visit
/// never waits for Redis. A pageview that Redis refuses is retried briefly, then counted as dropped
/// (never silently). On shutdown, the pageviews in flight are finished before Redis is closed.
public final class PageviewRecorder: Service, Sendable {
    private let publisher: EventPublisher
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let inFlight = Mutex(0)
    private let retryDelays: [Duration] = [.milliseconds(100), .milliseconds(400), .seconds(1)]

    /// - Parameters:
    ///   - publisher: puts the pageviews on the stream.
    ///   - metrics: counts the pageviews accepted and dropped.
    ///   - logger: where a dropped pageview is reported.
    public init(publisher: EventPublisher, metrics: GatewayMetrics, logger: Logger) {
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
    }

    /// Publishes a pageview in the background and returns at once. A publish Redis did not take is
    /// retried after 100 ms, 400 ms and 1 s; one in doubt is not retried, since it may already be on
    /// the stream and would count twice.
    public func record(_ event: AnalyticsEvent) {
        inFlight.withLock { $0 += 1 }
        Task {
            defer { inFlight.withLock { $0 -= 1 } }
            for attempt in 0...retryDelays.count {
                do throws(EventPublisher.Failure) {
                    try await publisher.publish(event)
                    metrics.recordAccepted(.pageview)
                    return
                } catch {
                    // A lost connection may have written it: retrying could count it twice.
                    if case .inDoubt = error { break }
                    guard attempt < retryDelays.count else { break }
                    try? await Task.sleep(for: retryDelays[attempt])
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
