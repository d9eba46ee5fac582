import AnalyticsCore

/// When an HTTP/1 connection must have sent something, as a value driven by what crosses it: the
/// first request's head within the header timeout of the connection's start, a body within the
/// body timeout of its head, the next head within the idle timeout of the last answer. While the
/// server is answering, the client owes nothing. Tested without I/O; ``HTTPConnectionGuard``
/// carries it out.
public struct ConnectionDeadlines: Sendable, Equatable {
    /// The three timeouts.
    public struct Timeouts: Sendable, Equatable {
        /// From the connection's start to its first request's complete head.
        public var header: Duration
        /// From a request's head to the end of its body.
        public var body: Duration
        /// From the end of the last answer to the next request's complete head.
        public var idle: Duration

        /// - Parameters:
        ///   - header: `ANALYTICS_HEADER_TIMEOUT_SEC`.
        ///   - body: `ANALYTICS_BODY_TIMEOUT_SEC`.
        ///   - idle: `ANALYTICS_IDLE_TIMEOUT_SEC`.
        public init(header: Duration = .seconds(10), body: Duration = .seconds(10), idle: Duration = .seconds(60)) {
            self.header = header
            self.body = body
            self.idle = idle
        }
    }

    let timeouts: Timeouts
    /// Requests whose head came and whose answer has not ended.
    private(set) var unanswered = 0
    /// When the request being read began, while its body is being read.
    private(set) var bodyStartedAt: ContinuousClock.Instant?
    /// When the client started owing the next head.
    private(set) var waitingSince: ContinuousClock.Instant
    private(set) var answeredAny = false

    /// A connection accepted at `now`.
    public init(timeouts: Timeouts, acceptedAt now: ContinuousClock.Instant) {
        self.timeouts = timeouts
        waitingSince = now
    }

    /// A request's head arrived.
    public mutating func headReceived(at now: ContinuousClock.Instant) {
        unanswered += 1
        bodyStartedAt = now
    }

    /// A request's end arrived (its body, if any, is complete).
    public mutating func requestEnded() {
        bodyStartedAt = nil
    }

    /// An answer was written to its end.
    public mutating func responseEnded(at now: ContinuousClock.Instant) {
        unanswered = max(0, unanswered - 1)
        answeredAny = true
        if unanswered == 0 { waitingSince = now }
    }

    /// The instant by which the client must have sent more; nil while it owes nothing (the
    /// server is answering).
    public var deadline: ContinuousClock.Instant? {
        if let bodyStartedAt { return bodyStartedAt + timeouts.body }
        guard unanswered == 0 else { return nil }
        return waitingSince + (answeredAny ? timeouts.idle : timeouts.header)
    }

    /// Whether the connection is past its deadline at `now`.
    public func isExpired(at now: ContinuousClock.Instant) -> Bool {
        deadline.map { now >= $0 } ?? false
    }
}
