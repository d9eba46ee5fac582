import AnalyticsCore
import RedisClient

/// Puts accepted events on the stream. An event counts as accepted only once Redis has answered.
///
/// Events go through one Lua script (``IngestScript``), run atomically by Redis, which decides
/// everything that must hold across every gateway of a deployment: a client's event id seen before
/// is answered with the entry it became, the client's rate limit is taken from its budget in Redis,
/// an event is refused while the stream holds ``Limits/streamMaxEvents`` entries, and only then is
/// it added. Concurrent publishes share runs of the script (``IngestBatcher``, group commit): no
/// caller waits for a batch to fill.
public struct EventPublisher: Sendable {
    /// Why an event is not on the stream. The first two are answered 503 and counted apart, because
    /// only ``inDoubt(_:)`` may hide a stored event. The strings say why, for the logs.
    public enum Failure: Error, Sendable, Equatable {
        /// Redis could not be reached, did not answer in time or refused the entry (an error reply
        /// such as OOM); the event was not written.
        case unavailable(String)
        /// The connection broke after the script was sent: the event may or may not be on the stream.
        case inDoubt(String)
        /// The client's budget, shared by every gateway, is spent: retry after this many seconds.
        case rateLimited(retryAfterSeconds: Int)
        /// The stream holds as many entries as it may (the archiver is behind): nothing was written.
        case streamFull
    }

    /// What became of an event that is on the stream.
    public enum Outcome: Sendable, Equatable {
        /// Added now, as this stream entry.
        case added(entryID: String)
        /// Its id was seen before (a retry of the same event): it is on the stream as this entry
        /// already and was not added again.
        case alreadyStored(entryID: String)

        /// The stream entry id.
        public var entryID: String {
            switch self {
            case .added(let id), .alreadyStored(let id): id
            }
        }
    }

    /// The limits the script enforces.
    public struct Limits: Sendable {
        /// Events one client may send per minute across every gateway; 0 turns the limit off.
        public var ratePerMinute: Int
        /// Entries the stream may hold before new events are refused.
        public var streamMaxEvents: Int
        /// How long a client's event id is remembered.
        public var idempotencyWindowSeconds: Int

        /// - Parameters:
        ///   - ratePerMinute: `ANALYTICS_RATE_LIMIT`.
        ///   - streamMaxEvents: `ANALYTICS_STREAM_MAX_EVENTS`.
        ///   - idempotencyWindowSeconds: `ANALYTICS_IDEMPOTENCY_WINDOW_SEC`.
        public init(ratePerMinute: Int = 0, streamMaxEvents: Int = 1_000_000, idempotencyWindowSeconds: Int = 21_600) {
            self.ratePerMinute = ratePerMinute
            self.streamMaxEvents = streamMaxEvents
            self.idempotencyWindowSeconds = idempotencyWindowSeconds
        }

        /// The limits the configuration sets.
        public init(_ configuration: AnalyticsConfiguration) {
            self.init(
                ratePerMinute: configuration.rateLimitPerMinute, streamMaxEvents: configuration.streamMaxEvents,
                idempotencyWindowSeconds: configuration.idempotencyWindowSeconds)
        }
    }

    let keyspace: RedisKeyspace
    let limits: Limits
    private let batcher: IngestBatcher

    /// - Parameters:
    ///   - redis: the client that writes to the stream (the gateway's publishing client, apart from
    ///     the one that reads statistics).
    ///   - keyspace: names the stream and the keys of the limits.
    ///   - limits: the rate limit, the stream's ceiling and the idempotency window.
    ///   - deadline: the longest wait for Redis's answer, queueing included.
    public init(redis: RedisClient, keyspace: RedisKeyspace, limits: Limits = Limits(), deadline: Duration = .milliseconds(800)) {
        self.keyspace = keyspace
        self.limits = limits
        batcher = IngestBatcher(redis: redis, stream: keyspace.stream, streamMaxEvents: limits.streamMaxEvents, deadline: deadline)
    }

    /// Puts one event on the stream and returns once Redis has answered.
    /// - Parameters:
    ///   - event: the validated event, with its ids.
    ///   - client: the client's key for the rate limit (``ClientKey``); nil: not limited.
    ///   - idChosenByClient: the event's id came from the client: a second event with it is not added.
    /// - Returns: the stream entry, new or already there.
    /// - Throws: ``Failure``.
    @discardableResult
    public func publish(_ event: AnalyticsEvent, client: String? = nil, idChosenByClient: Bool = false) async throws(Failure) -> Outcome {
        let result = await withCheckedContinuation { continuation in
            publish(event, client: client, idChosenByClient: idChosenByClient) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Puts one event on the stream, for a caller that is not async (the event route, which must not
    /// block its event loop).
    /// - Parameters:
    ///   - event: the validated event, with its ids.
    ///   - client: the client's key for the rate limit; nil: not limited.
    ///   - idChosenByClient: the event's id came from the client.
    ///   - then: called once with the outcome or the ``Failure``, on one of the Redis client's
    ///     threads (or the caller's, when the client is shut down).
    public func publish(
        _ event: AnalyticsEvent, client: String?, idChosenByClient: Bool, then: @escaping @Sendable (Result<Outcome, Failure>) -> Void
    ) {
        let rate = client != nil && limits.ratePerMinute > 0 ? limits.ratePerMinute : 0
        var arguments: [String] = []
        arguments.reserveCapacity(3 + StreamEntryCodec.maximumFieldCount)
        arguments.append(String(rate > 0 ? IngestBatcher.rateWindowMicroseconds / rate : 0))
        arguments.append(String(idChosenByClient ? limits.idempotencyWindowSeconds : 0))
        // The count of the fields that follow, filled in once they are appended.
        arguments.append("")
        StreamEntryCodec.appendFields(of: event, to: &arguments)
        arguments[2] = String(arguments.count - 3)
        batcher.submit(
            .init(
                keys: (keyspace.rateLimit(client: client ?? "-"), keyspace.eventID(event.id.lowercasedString)), arguments: arguments,
                enqueuedAt: .now, then: then))
    }

    /// Maps the script's reply (or the pipeline's failure) to one ``Outcome`` or ``Failure`` for
    /// each of the `count` events it was run with.
    static func outcomes(from result: Result<RedisValue, any Error>, count: Int) -> [Result<Outcome, Failure>] {
        let reply: RedisValue
        switch result {
        case .success(let value):
            reply = value
        case .failure(RedisError.connectionLost(let reason)):
            return Array(repeating: .failure(.inDoubt(reason)), count: count)
        case .failure(let error):
            return Array(repeating: .failure(.unavailable("\(error)")), count: count)
        }
        if let message = reply.errorMessage {
            // The script failed as a whole (it answers an XADD's refusal per event instead).
            return Array(repeating: .failure(.unavailable(message)), count: count)
        }
        guard let parts = reply.array, parts.count == 2 * count else {
            return Array(repeating: .failure(.unavailable("unexpected reply to the ingest script")), count: count)
        }
        return (0..<count).map { i in outcome(verdict: parts[2 * i].string, value: parts[2 * i + 1].string) }
    }

    /// One event's verdict and value, as the script replies them.
    static func outcome(verdict: String?, value: String?) -> Result<Outcome, Failure> {
        guard let verdict, let value else { return .failure(.unavailable("unexpected reply to the ingest script")) }
        switch verdict {
        case "added": return .success(.added(entryID: value))
        case "repeated": return .success(.alreadyStored(entryID: value))
        case "limited":
            let microseconds = Int64(value) ?? 1_000_000
            return .failure(.rateLimited(retryAfterSeconds: max(1, Int((microseconds + 999_999) / 1_000_000))))
        case "full": return .failure(.streamFull)
        case "error": return .failure(.unavailable(value))
        default: return .failure(.unavailable("unexpected reply to the ingest script: \(verdict)"))
        }
    }
}
