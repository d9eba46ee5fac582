import Dispatch
import Synchronization

/// Per-client rate limit (`ANALYTICS_RATE_LIMIT` events a minute) keyed by a keyed hash of the
/// client address: the address itself is never stored. Sharded locks keep the gateway's cores
/// from contending; idle clients are forgotten.
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
    public let limitPerMinute: Int

    public init(limitPerMinute: Int, shardCount: Int = 16) {
        self.limitPerMinute = limitPerMinute
        self.window = 60_000_000_000
        self.interval = limitPerMinute > 0 ? window / Int64(limitPerMinute) : 0
        self.shards = (0..<shardCount).map { _ in Shard() }
    }

    public var isEnabled: Bool { limitPerMinute > 0 }

    /// Takes one event from the client's allowance; on denial returns the seconds to wait (≥ 1).
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
