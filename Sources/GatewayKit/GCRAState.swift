import Dispatch
import Synchronization

/// The generic cell rate algorithm for one client: a bucket of `limit` events refilled continuously
/// over `window`, kept as one time instead of a count and a timestamp. Pure state, tested without
/// clocks; ``ClientRateLimiter`` keeps one per client.
public struct GCRAState: Sendable, Equatable {
    /// Theoretical arrival time in nanoseconds: when the client's allowance will be whole again.
    /// At or before `now`, the state is as good as new and can be forgotten.
    public var theoreticalArrival: Int64 = 0

    /// A client with its whole allowance.
    public init() {}

    /// The outcome of ``take(now:interval:window:)``.
    public enum Decision: Sendable, Equatable {
        /// The event fits the allowance and has been taken from it.
        case allowed
        /// Denied; the client may retry after this many nanoseconds.
        case denied(retryAfterNanoseconds: Int64)
    }

    /// Takes one event from the allowance if it fits; a denied event takes nothing.
    /// - Parameters:
    ///   - now: nanoseconds on a monotonic clock.
    ///   - interval: `window / limit`, the time one event "costs".
    ///   - window: the period of the limit (a minute).
    /// - Returns: whether the event is allowed and, if not, how long until it would be.
    public mutating func take(now: Int64, interval: Int64, window: Int64) -> Decision {
        let next = max(theoreticalArrival, now) + interval
        if next - now > window {
            return .denied(retryAfterNanoseconds: next - now - window)
        }
        theoreticalArrival = next
        return .allowed
    }
}
