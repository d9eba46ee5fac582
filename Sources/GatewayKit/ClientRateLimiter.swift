import Dispatch
import Synchronization

/// The per-client rate limit of the event route: at most ``limitPerMinute`` events a minute
/// (`ANALYTICS_RATE_LIMIT`), each client's allowance kept as a ``GCRAState``.
///
/// Clients are keyed by an in-process keyed hash of their address, so the address itself is never
/// stored. Sharded locks keep the gateway's event loops from contending on one table, and clients
/// whose allowance is whole again are forgotten. The limit is per gateway instance: gateways do not
/// share allowances.
public final class ClientRateLimiter: Sendable {
    private struct ShardState {
        var clients: [UInt64: GCRAState] = [:]
        var operationsSincePrune = 0
    }

    /// A lock-protected part of the table (a class: `Mutex` cannot sit in an array).
    private final class Shard: Sendable {
        let state = Mutex(ShardState())
    }

    private let shards: [Shard]
    private let interval: Int64
    private let window: Int64
    /// Events one client may send per minute; 0 or less turns the limit off.
    public let limitPerMinute: Int

    /// - Parameters:
    ///   - limitPerMinute: events one client may send per minute; 0 or less turns the limit off.
    ///   - shardCount: how many separately locked parts the client table is split into.
    public init(limitPerMinute: Int, shardCount: Int = 16) {
        self.limitPerMinute = limitPerMinute
        self.window = 60_000_000_000
        self.interval = limitPerMinute > 0 ? window / Int64(limitPerMinute) : 0
        self.shards = (0..<shardCount).map { _ in Shard() }
    }

    /// Whether a limit is set; when it is not, ``take(client:now:)`` allows everything.
    public var isEnabled: Bool { limitPerMinute > 0 }

    /// Takes one event from the client's allowance; a denied event takes nothing.
    /// - Parameters:
    ///   - client: the keyed hash of the client's address.
    ///   - now: monotonic nanoseconds (``DispatchTimeNanoseconds``); tests pass their own.
    /// - Returns: nil when the event is allowed; otherwise the whole seconds to wait before the
    ///   client may send again (at least 1), for `Retry-After`.
    public func take(client: UInt64, now: Int64 = Int64(clamping: DispatchTimeNanoseconds.now())) -> Int? {
        guard isEnabled else { return nil }
        let shard = shards[Int(client % UInt64(shards.count))]
        return shard.state.withLock { shard -> Int? in
            shard.operationsSincePrune += 1
            if shard.operationsSincePrune >= 4096 {
                shard.operationsSincePrune = 0
                // A client whose arrival time has passed has its whole allowance back: forget it.
                shard.clients = shard.clients.filter { $0.value.theoreticalArrival > now }
            }
            var state = shard.clients[client] ?? GCRAState()
            let decision = state.take(now: now, interval: interval, window: window)
            shard.clients[client] = state
            switch decision {
            case .allowed:
                return nil
            case .denied(let wait):
                return max(1, Int((wait + 999_999_999) / 1_000_000_000))
            }
        }
    }
}
