import AnalyticsCore
import Crypto
import Foundation
import RedisClient
import Synchronization

/// The cookieless ids computed lately, so a client sending many events without a cookie (a beacon,
/// an API) costs one HMAC a day, not one per event. Keyed by an in-process keyed hash of the address
/// and user agent (the address is not kept); bounded, and emptied when the day changes.
final class RecentCookielessIDs: Sendable {
    static let capacity = 65_536

    private struct State {
        var day = ""
        var ids: [Int: UUID] = [:]
    }

    private let state = Mutex(State())

    func id(day: String, clientAddress: IPAddress?, userAgent: String, compute: () -> UUID) -> UUID {
        var hasher = Hasher()
        hasher.combine(clientAddress)
        hasher.combine(userAgent)
        let key = hasher.finalize()
        if let hit = state.withLock({ $0.day == day ? $0.ids[key] : nil }) { return hit }
        let id = compute()
        state.withLock { state in
            if state.day != day || state.ids.count >= Self.capacity {
                state.day = day
                state.ids.removeAll(keepingCapacity: true)
            }
            state.ids[key] = id
        }
        return id
    }
}
