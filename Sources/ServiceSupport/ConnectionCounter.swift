import AnalyticsCore
import Synchronization

/// Open connections per client address block (an IPv4 address, an IPv6 /64), shared by the event
/// loops of one listener, so that one client cannot take every file descriptor. Addresses of
/// trusted proxies are not counted: every client behind them shares their address.
public final class ConnectionCounter: Sendable {
    /// Connections one address block may hold; the next is refused.
    public let maximumPerAddress: Int
    private let exempt: [IPNetwork]
    private let counts = Mutex<[[UInt8]: Int]>([:])

    /// - Parameters:
    ///   - maximumPerAddress: connections one address block may hold.
    ///   - exempt: networks not counted (the trusted proxies).
    public init(maximumPerAddress: Int, exempt: [IPNetwork] = []) {
        self.maximumPerAddress = maximumPerAddress
        self.exempt = exempt
    }

    /// Counts a new connection from `address`.
    /// - Returns: the key to give back to ``close(_:)`` when the connection ends (nil: not counted),
    ///   and whether the connection is within the cap.
    public func open(_ address: IPAddress?) -> (key: [UInt8]?, allowed: Bool) {
        guard let address, !exempt.contains(where: { $0.contains(address) }) else { return (nil, true) }
        let key = Array(address.clientBlock)
        let allowed = counts.withLock { counts -> Bool in
            let current = counts[key, default: 0]
            guard current < maximumPerAddress else { return false }
            counts[key] = current + 1
            return true
        }
        return (allowed ? key : nil, allowed)
    }

    /// A counted connection ended.
    public func close(_ key: [UInt8]) {
        counts.withLock { counts in
            let remaining = counts[key, default: 1] - 1
            counts[key] = remaining > 0 ? remaining : nil
        }
    }

    /// Connections counted for `address` now.
    public func count(for address: IPAddress) -> Int {
        counts.withLock { $0[Array(address.clientBlock), default: 0] }
    }
}
