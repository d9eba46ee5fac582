import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Redis pub/sub subscription on its own connection and thread. It reconnects by itself when
/// Redis goes away (with backoff), detects a silent Redis with PINGs, and reports every state change,
/// so that its owner can resynchronise after a gap. Messages are handed to `onEvent` on the
/// subscription's thread: keep that callback short and non-blocking.
public final class RedisSubscriber: Sendable {
    /// What the subscription reports to its owner.
    public enum Event: Sendable, Equatable {
        /// Subscribed (again): messages published from now on will arrive.
        case subscribed
        /// A message published on `channel`, with its bytes as published.
        case message(channel: String, payload: [UInt8])
        /// The connection is gone, for the reason given; messages published until the next
        /// `.subscribed` are lost. Reported once per outage, not at each failed attempt.
        case disconnected(String)
    }

    /// What to subscribe to, where, and how a silent Redis is detected.
    public struct Configuration: Sendable {
        public var endpoint: RedisEndpoint
        /// Subscribed to together; must not be empty (``Event/subscribed`` comes once every one is
        /// confirmed).
        public var channels: [String]
        /// Name shown by `CLIENT LIST` and given to the subscription's thread.
        public var name: String
        /// A PING is sent after this long without traffic; no answer within it again means dead.
        public var pingInterval: Duration = .seconds(3)
        /// Delay between reconnection attempts; reset once subscribed.
        public var reconnectBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))

        public init(endpoint: RedisEndpoint, channels: [String], name: String) {
            self.endpoint = endpoint
            self.channels = channels
            self.name = name
        }
    }

    private let stopping = Mutex(false)
    private let stopped = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Starts the subscription's thread, which connects at once.
    /// - Parameters:
    ///   - configuration: what to subscribe to, and where.
    ///   - logger: receives subscriptions and losses of the connection.
    ///   - onEvent: called on the subscription's thread with every ``Event``, in order; keep it
    ///     short and non-blocking, since no message is read meanwhile.
    public init(configuration: Configuration, logger: Logger, onEvent: @escaping @Sendable (Event) -> Void) {
        let thread = Thread { [self] in
            self.loop(configuration, logger: logger, onEvent: onEvent)
            let waiters = stopped.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "redis-subscriber-\(configuration.name)"
        thread.start()
    }

    /// Closes the subscription and ends its thread, returning once it has: within about a quarter of
    /// a second, or about a second while a connection attempt is under way.
    public func shutdown() async {
        stopping.withLock { $0 = true }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = stopped.withLock { state -> Bool in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    private func loop(_ configuration: Configuration, logger: Logger, onEvent: @Sendable (Event) -> Void) {
        var backoff = configuration.reconnectBackoff
        var announcedDown = false
        while !isStopping {
            do {
                let connection = try HiredisConnection(
                    endpoint: configuration.endpoint, connectTimeout: .seconds(1), commandTimeout: .seconds(5),
                    clientName: configuration.name)
                try connection.append(RedisCommand(["SUBSCRIBE"] + configuration.channels))
                try connection.flush()
                var confirmed = 0
                // The subscription is confirmed once per channel; then messages flow.
                try serve(connection, configuration: configuration) { reply in
                    guard case .array(let parts) = reply, let kind = parts.first?.string else { return }
                    switch kind {
                    case "subscribe":
                        confirmed += 1
                        if confirmed == configuration.channels.count {
                            backoff.reset()
                            announcedDown = false
                            logger.info("subscribed", metadata: ["channels": "\(configuration.channels)"])
                            onEvent(.subscribed)
                        }
                    case "message" where parts.count == 3:
                        guard case .bulk(let payload) = parts[2] else { return }
                        onEvent(.message(channel: parts[1].string ?? "", payload: payload))
                    default:
                        break  // pong
                    }
                }
            } catch {
                if !announcedDown {
                    logger.warning("subscription lost; reconnecting", metadata: ["error": "\(error)"])
                    onEvent(.disconnected("\(error)"))
                    announcedDown = true
                }
                let until = ContinuousClock.now + backoff.next()
                while ContinuousClock.now < until && !isStopping { Thread.sleep(forTimeInterval: 0.05) }
            }
        }
    }

    /// Reads replies until stopped or the connection fails (throws).
    private func serve(_ connection: HiredisConnection, configuration: Configuration, handle: (RedisValue) -> Void) throws {
        var lastTraffic = ContinuousClock.now
        var pingSentAt: ContinuousClock.Instant?
        while !isStopping {
            while let reply = try connection.bufferedReply() {
                lastTraffic = .now
                pingSentAt = nil
                handle(reply)
            }
            var descriptor = pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 250)
            if ready > 0 {
                try connection.readAvailable()
                continue
            }
            if ready < 0 && errno != EINTR { throw RedisError.connectionLost("poll: \(String(cString: strerror(errno)))") }
            let now = ContinuousClock.now
            if let sent = pingSentAt {
                if now - sent > configuration.pingInterval { throw RedisError.connectionLost("no answer to PING") }
            } else if now - lastTraffic > configuration.pingInterval {
                try connection.append(RedisCommand("PING"))
                try connection.flush()
                pingSentAt = now
            }
        }
    }
}
