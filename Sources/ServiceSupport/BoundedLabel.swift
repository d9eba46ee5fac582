import Prometheus
import RedisClient
import Synchronization

/// A label whose values come from the traffic (event types, themes): the first `capacity` distinct
/// values keep their own label, later ones are folded into `other`, so a client cannot grow the
/// number of series without bound.
public final class BoundedLabel: Sendable {
    public static let other = "other"
    private let capacity: Int
    private let known: Mutex<Set<String>>

    public init(capacity: Int, preset: [String] = []) {
        self.capacity = capacity
        self.known = Mutex(Set(preset))
    }

    public func value(for raw: String) -> String {
        known.withLock { known in
            if known.contains(raw) { return raw }
            guard known.count < capacity else { return Self.other }
            known.insert(raw)
            return raw
        }
    }
}
