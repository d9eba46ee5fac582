import Dispatch
import Synchronization

/// The generic cell rate algorithm for one client: a bucket of `limit` events refilled continuously
/// over `window`. Pure state, tested without clocks.
public struct GCRAState: Sendable, Equatable {
    /// Theoretical arrival time in nanoseconds.
    public var theoreticalArrival: Int64 = 0

    public init() {}

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Denied; the client may retry after this many nanoseconds.
        case denied(retryAfterNanoseconds: Int64)
    }

    /// - Parameters:
    ///   - now: nanoseconds on a monotonic clock.
    ///   - interval: `window / limit`, the time one event "costs".
    ///   - window: the period of the limit (a minute).
    public mutating func take(now: Int64, interval: Int64, window: Int64) -> Decision {
        let next = max(theoreticalArrival, now) + interval
        if next - now > window {
            return .denied(retryAfterNanoseconds: next - now - window)
        }
        theoreticalArrival = next
        return .allowed
    }
}
