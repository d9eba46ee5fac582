import Prometheus
import RedisClient
import Synchronization

/// A label whose values come from the traffic (event types, themes): the first `capacity` distinct
/// values keep their own label, later ones are folded into `other`, so a client cannot grow the
/// number of series without bound.
public final class BoundedLabel: Sendable {
    /// The label value every value past the capacity is folded into.
    public static let other = "other"
    private let capacity: Int
    private let known: Mutex<Set<String>>

    /// - Parameters:
    ///   - capacity: the most distinct values that keep their own label, presets included.
    ///   - preset: values known in advance (the service's own event types), which always keep theirs.
    public init(capacity: Int, preset: [String] = []) {
        self.capacity = capacity
        self.known = Mutex(Set(preset))
    }

    /// The label to use for `raw`: `raw` itself if it is known or there is still room for it (it is
    /// then remembered), otherwise ``other``.
    public func value(for raw: String) -> String {
        known.withLock { known in
            if known.contains(raw) { return raw }
            guard known.count < capacity else { return Self.other }
            known.insert(raw)
            return raw
        }
    }
}
