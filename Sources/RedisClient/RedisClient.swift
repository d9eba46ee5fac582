import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle

/// A Redis client with one connection served by one thread. Requests from any task queue up; the
/// thread takes everything queued, writes it as one pipeline and reads the replies, so concurrent
/// callers share round trips (group commit) without any of them waiting for a batch to fill.
///
/// When Redis is down, requests fail at once with `.unavailable` (after at most one connection
/// attempt, paced by a backoff), so callers can answer 503 quickly; the client reconnects by itself
/// on the next request after the backoff.
///
/// Every request has a deadline, enforced by a reaper thread even while the worker is stuck on a
/// silent Redis; the ``RedisError`` it fails with says whether its commands may have run.
public final class RedisClient: Sendable {
    /// How a ``RedisClient`` connects, and how long its requests may take.
    public struct Configuration: Sendable {
        public var endpoint: RedisEndpoint
        /// Name shown by `CLIENT LIST`, given to the client's threads and logged with its errors.
        public var name: String
        /// How long one connection attempt may take. Attempts are made on the worker thread, so requests
        /// queued meanwhile wait for it.
        public var connectTimeout: Duration = .milliseconds(500)
        /// Socket read/write timeout: a reply slower than this breaks the connection, and the requests
        /// written on it fail with ``RedisError/connectionLost(_:)``. Must exceed the `BLOCK` time of any
        /// blocking command sent.
        public var commandTimeout: Duration = .seconds(1)
        /// The deadline of a request sent without a `timeout` of its own, counted from the call: past
        /// it, a request still queued fails unsent with ``RedisError/timedOut``, and one already
        /// written fails with ``RedisError/connectionLost(_:)``.
        public var queueTimeout: Duration = .seconds(1)
        /// Most commands written in one pipeline; a single request with more is still written whole.
        public var maximumPipeline: Int = 4096
        /// Delay between failed connection attempts, doubling up to its maximum; meanwhile requests fail
        /// at once with ``RedisError/unavailable(_:)``. A connection that breaks is retried at once.
        public var reconnectBackoff = Backoff(initial: .milliseconds(50), maximum: .seconds(1))

        public init(endpoint: RedisEndpoint, name: String) {
            self.endpoint = endpoint
            self.name = name
        }
    }

    private struct Request {
        let commands: [RedisCommand]
        let deadline: ContinuousClock.Instant
        let reply: PendingReply
    }

    /// Queue and flags shared by callers and the worker thread; every access holds `condition`.
    private final class SharedState: @unchecked Sendable {
        let condition = NSCondition()
        var queue: [Request] = []
        var queueHead = 0
        var stopping = false
        var stopped = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var connected = false
        /// Connections made so far (see `connectionGeneration`).
        var connections = 0
        /// The requests the worker has written and not yet answered, for the deadline reaper.
        var inFlight: [Request] = []
    }

    public let configuration: Configuration
    private let logger: Logger
    private let shared = SharedState()
    private let metrics: (any RedisClientMetrics)?

    /// Starts the worker thread and the deadline reaper. The first request makes the connection.
    /// Call ``shutdown()``, or run the client as a service, to end the threads.
    /// - Parameters:
    ///   - configuration: where to connect, and the client's timeouts.
    ///   - logger: receives connection changes and failures.
    ///   - metrics: receives round trips and connection changes; nil: none.
    public init(configuration: Configuration, logger: Logger, metrics: (any RedisClientMetrics)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        let thread = Thread { [shared, configuration, logger, metrics] in
            var worker = Worker(configuration: configuration, shared: shared, logger: logger, metrics: metrics)
            worker.run()
        }
        thread.name = "redis-\(configuration.name)"
        thread.start()
        let reaper = Thread { [shared] in Self.reapExpiredRequests(shared) }
        reaper.name = "redis-\(configuration.name)-deadlines"
        reaper.start()
    }

    /// Answers requests whose deadline passed while the worker is stuck (a Redis that stopped
    /// answering): a queued request fails unsent, a written one fails as in doubt. This is what keeps
    /// the gateway's answer within its deadline whatever Redis does.
    private static func reapExpiredRequests(_ shared: SharedState) {
        while true {
            Thread.sleep(forTimeInterval: 0.025)
            shared.condition.lock()
            if shared.stopped {
                shared.condition.unlock()
                return
            }
            let now = ContinuousClock.now
            var expiredQueued: [PendingReply] = []
            var expiredSent: [PendingReply] = []
            if shared.queueHead < shared.queue.count {
                for request in shared.queue[shared.queueHead...] where request.deadline < now {
                    expiredQueued.append(request.reply)
                }
            }
            for request in shared.inFlight where request.deadline < now {
                expiredSent.append(request.reply)
            }
            shared.condition.unlock()
            for reply in expiredQueued { reply.resolveIfQueued(.failure(RedisError.timedOut)) }
            for reply in expiredSent { reply.resolve(.failure(RedisError.connectionLost("no reply before the deadline"))) }
        }
    }

    /// Whether the client holds a connection: true once one is made, false after an attempt failed or
    /// the connection broke. For readiness and gauges: a request may still fail.
    public var isConnected: Bool {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        return shared.connected
    }

    /// How many connections this client has made. A change means commands may have reached a
    /// Redis that restarted and lost recent writes, so whatever a caller remembers of what it wrote
    /// (to skip writing it again) must be forgotten.
    public var connectionGeneration: Int {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        return shared.connections
    }

    /// Sends one command and returns its reply.
    /// - Parameters:
    ///   - command: the command to send.
    ///   - timeout: the request's deadline, counted from now; nil: ``Configuration/queueTimeout``.
    /// - Throws: ``RedisError/server(_:)`` for an error reply, or what ``pipeline(_:timeout:)`` throws.
    @discardableResult
    public func send(_ command: RedisCommand, timeout: Duration? = nil) async throws -> RedisValue {
        try await checkedPipeline([command], timeout: timeout)[0]
    }

    /// Sends one command given as its words (`send("GET", key)`), otherwise as the form taking a
    /// ``RedisCommand``.
    @discardableResult
    public func send(_ arguments: String..., timeout: Duration? = nil) async throws -> RedisValue {
        try await send(RedisCommand(arguments), timeout: timeout)
    }

    /// Sends the commands together, in order, and returns one reply per command. Error replies are
    /// returned as `.error` values, not thrown: the other commands of the pipeline did run.
    ///
    /// The commands of one call are written together, but other callers' requests may be written in
    /// the same pipeline: this is not a transaction (use `MULTI` or a ``RedisScript`` for that).
    /// - Precondition: `commands` is not empty.
    /// - Parameters:
    ///   - commands: the commands, written in this order.
    ///   - timeout: the request's deadline, counted from now; nil: ``Configuration/queueTimeout``.
    /// - Throws: ``RedisError``: `.unavailable`, `.timedOut` or `.shutdown` when nothing was sent;
    ///   `.connectionLost` when the commands were written and may or may not have run.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async throws -> [RedisValue] {
        precondition(!commands.isEmpty, "empty pipeline")
        let deadline = ContinuousClock.now + (timeout ?? configuration.queueTimeout)
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(commands, deadline: deadline, reply: PendingReply(.continuation(continuation)))
        }
    }

    /// Sends the commands together, in order, for callers that need all of them to succeed.
    /// - Returns: one reply per command, none of them an error.
    /// - Throws: `RedisError.server` with the first error reply (the other commands did run), or
    ///   what `pipeline(_:timeout:)` throws.
    @discardableResult
    public func checkedPipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async throws -> [RedisValue] {
        let replies = try await pipeline(commands, timeout: timeout)
        if let message = replies.lazy.compactMap(\.errorMessage).first { throw RedisError.server(message) }
        return replies
    }

    /// `pipeline(_:timeout:)` for callers that are not async (a NIO channel handler): the handler
    /// is called once with the replies or the error the async form throws — on the client's worker
    /// or deadline thread, or at once on the caller's when the client is shut down.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil, then handler: @escaping RedisReplyHandler) {
        precondition(!commands.isEmpty, "empty pipeline")
        let deadline = ContinuousClock.now + (timeout ?? configuration.queueTimeout)
        enqueue(commands, deadline: deadline, reply: PendingReply(.handler(handler)))
    }

    private func enqueue(_ commands: [RedisCommand], deadline: ContinuousClock.Instant, reply: PendingReply) {
        shared.condition.lock()
        if shared.stopping {
            shared.condition.unlock()
            reply.resolve(.failure(RedisError.shutdown))
            return
        }
        shared.queue.append(Request(commands: commands, deadline: deadline, reply: reply))
        shared.condition.signal()
        shared.condition.unlock()
    }

    /// Queues commands whose replies nobody awaits (e.g. `PUBLISH` of best-effort updates). They are
    /// written in call order with the other requests of this client. Their replies and failures are
    /// dropped; a broken connection is still logged.
    public func sendWithoutWaiting(_ commands: [RedisCommand], timeout: Duration? = nil) {
        enqueue(commands, deadline: ContinuousClock.now + (timeout ?? configuration.queueTimeout), reply: PendingReply(nil))
    }

    /// Fails what is still queued with ``RedisError/shutdown``, closes the connection and ends the
    /// client's threads; returns once the connection is closed. A pipeline being written is answered
    /// first. Requests made afterwards fail at once with ``RedisError/shutdown``.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            shared.condition.lock()
            if shared.stopped {
                shared.condition.unlock()
                continuation.resume()
                return
            }
            shared.stopping = true
            shared.stopWaiters.append(continuation)
            shared.condition.signal()
            shared.condition.unlock()
        }
    }

    /// The worker thread's side: owns the connection.
    private struct Worker {
        let configuration: Configuration
        let shared: SharedState
        let logger: Logger
        let metrics: (any RedisClientMetrics)?
        var connection: HiredisConnection?
        var nextAttempt: ContinuousClock.Instant = .now
        var backoff: Backoff
        var lastError = "not connected yet"

        init(configuration: Configuration, shared: SharedState, logger: Logger, metrics: (any RedisClientMetrics)?) {
            self.configuration = configuration
            self.shared = shared
            self.logger = logger
            self.metrics = metrics
            self.backoff = configuration.reconnectBackoff
        }

        mutating func run() {
            while true {
                shared.condition.lock()
                while shared.queueHead == shared.queue.count && !shared.stopping {
                    shared.condition.wait()
                }
                if shared.stopping {
                    let pending = shared.queue[shared.queueHead...]
                    shared.queue = []
                    shared.queueHead = 0
                    shared.stopped = true
                    shared.connected = false
                    let waiters = shared.stopWaiters
                    shared.stopWaiters = []
                    shared.condition.unlock()
                    for request in pending { request.reply.resolve(.failure(RedisError.shutdown)) }
                    connection = nil
                    for waiter in waiters { waiter.resume() }
                    return
                }
                var batch: [Request] = []
                var commandCount = 0
                while shared.queueHead < shared.queue.count {
                    let next = shared.queue[shared.queueHead]
                    if !batch.isEmpty && commandCount + next.commands.count > configuration.maximumPipeline { break }
                    batch.append(next)
                    commandCount += next.commands.count
                    shared.queueHead += 1
                }
                if shared.queueHead == shared.queue.count {
                    shared.queue.removeAll(keepingCapacity: true)
                    shared.queueHead = 0
                }
                shared.condition.unlock()
                process(batch, commandCount: commandCount)
            }
        }

        private mutating func process(_ batch: [Request], commandCount: Int) {
            let now = ContinuousClock.now
            var live: [Request] = []
            live.reserveCapacity(batch.count)
            for request in batch {
                if request.deadline < now {
                    request.reply.resolveIfQueued(.failure(RedisError.timedOut))
                } else if !request.reply.isResolved {
                    live.append(request)
                }
            }
            guard !live.isEmpty else { return }

            guard let connection = connectIfNeeded(now: now) else {
                for request in live { request.reply.resolve(.failure(RedisError.unavailable(lastError))) }
                return
            }

            // Claim each request as sent; one the reaper answered meanwhile is not written.
            live.removeAll { !$0.reply.markSent() }
            guard !live.isEmpty else { return }
            setInFlight(live)
            defer { setInFlight([]) }

            let start = ContinuousClock.now
            var replies: [RedisValue] = []
            let expected = live.reduce(0) { $0 + $1.commands.count }
            replies.reserveCapacity(expected)
            do {
                for request in live {
                    for command in request.commands { try connection.append(command) }
                }
                for _ in 0..<expected {
                    replies.append(try connection.readReply())
                }
            } catch {
                // Everything written is now in doubt: some commands may have run.
                if case .connectionLost(let reason) = error { lastError = reason } else { lastError = "\(error)" }
                logger.warning("Redis connection lost", metadata: ["error": "\(error)", "client": "\(configuration.name)"])
                dropConnection(at: ContinuousClock.now)
                var offset = 0
                for request in live {
                    let end = offset + request.commands.count
                    if end <= replies.count {
                        request.reply.resolve(.success(Array(replies[offset..<end])))
                    } else {
                        request.reply.resolve(.failure(RedisError.connectionLost(lastError)))
                    }
                    offset = end
                }
                return
            }
            metrics?.recordRoundTrip(commands: replies.count, duration: ContinuousClock.now - start)
            var offset = 0
            for request in live {
                let end = offset + request.commands.count
                request.reply.resolve(.success(Array(replies[offset..<end])))
                offset = end
            }
        }

        private func setInFlight(_ requests: [Request]) {
            shared.condition.lock()
            shared.inFlight = requests
            shared.condition.unlock()
        }

        private mutating func connectIfNeeded(now: ContinuousClock.Instant) -> HiredisConnection? {
            if let connection { return connection }
            guard now >= nextAttempt else { return nil }
            do {
                let made = try HiredisConnection(
                    endpoint: configuration.endpoint,
                    connectTimeout: configuration.connectTimeout,
                    commandTimeout: configuration.commandTimeout,
                    clientName: configuration.name)
                connection = made
                backoff.reset()
                shared.condition.lock()
                shared.connections += 1
                shared.condition.unlock()
                setConnected(true)
                logger.info("Redis connected", metadata: ["client": "\(configuration.name)"])
                return made
            } catch {
                if case .unavailable(let reason) = error { lastError = reason } else { lastError = "\(error)" }
                scheduleRetry(after: ContinuousClock.now)
                logger.debug("Redis connection failed", metadata: ["error": "\(error)", "client": "\(configuration.name)"])
                return nil
            }
        }

        private mutating func dropConnection(at now: ContinuousClock.Instant) {
            connection = nil
            setConnected(false)
            // Retry on the next request: a lost connection usually means a restart, not an outage.
            nextAttempt = now
        }

        private mutating func scheduleRetry(after now: ContinuousClock.Instant) {
            setConnected(false)
            nextAttempt = now + backoff.next()
        }

        private func setConnected(_ value: Bool) {
            shared.condition.lock()
            shared.connected = value
            shared.condition.unlock()
            metrics?.setConnected(value)
        }
    }
}

extension RedisClient: Service {
    /// Runs until graceful shutdown, then closes the connection: started first and stopped last in
    /// a `ServiceGroup`, so the services that use it are stopped before it.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
