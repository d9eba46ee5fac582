import Logging
import Synchronization

/// Says in the log when the gateway refuses all ingest (the stream at its ceiling): at once, then
/// at most every ``interval`` while it lasts, with the number refused meanwhile, so a flood of
/// refusals does not flood the log.
final class IngestRefusalLog: Sendable {
    private let logger: Logger
    private let state = Mutex<(lastLogged: ContinuousClock.Instant?, refusedSince: Int)>((nil, 0))
    /// The least time between two log lines.
    let interval: Duration = .seconds(10)

    init(logger: Logger) {
        self.logger = logger
    }

    /// An event refused because the stream is full: counted, and logged when due.
    func streamFull(metrics: GatewayMetrics) {
        metrics.recordIngestRefused(.streamFull)
        let now = ContinuousClock.now
        let due: Int? = state.withLock { state in
            state.refusedSince += 1
            if let last = state.lastLogged, now - last < interval { return nil }
            defer { state = (now, 0) }
            return state.refusedSince
        }
        guard let refused = due else { return }
        logger.error(
            "refusing events with 503: the stream holds ANALYTICS_STREAM_MAX_EVENTS entries (is the archiver running, is PostgreSQL up?)",
            metadata: ["refused_since_last_report": "\(refused)"])
    }
}
