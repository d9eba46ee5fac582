import AnalyticsCore
import Crypto
import Synchronization

/// Names a client in the shared rate limit: a keyed hash of its address block (the address for
/// IPv4, the /64 for IPv6), so every gateway of a deployment names it alike and Redis never holds
/// the address.
public struct ClientKey: Sendable {
    /// The HMAC with its key already absorbed, copied for each name.
    private let keyed: HMAC<SHA256>
    /// Names computed lately, by address block: a client sends many events. Emptied when full.
    private let recent = RecentNames()
    /// Address blocks whose names are remembered, at most.
    static let remembered = 4096

    /// The remembered names; in memory only, like the connections they came from.
    private final class RecentNames: Sendable {
        let names = Mutex<[ArraySlice<UInt8>: String]>([:])
    }

    /// - Parameter secret: the deployment's secret, the same on every gateway.
    public init(secret: ServerSecret) {
        keyed = HMAC<SHA256>(key: secret.key(for: "rate-limit client"))
    }

    /// The client's name: 20 hex digits (80 bits) of HMAC-SHA256 over its address block; `unknown`
    /// for a client without an address (a Unix-socket peer).
    public func name(of address: IPAddress?) -> String {
        guard let address else { return "unknown" }
        let block = address.clientBlock
        if let known = recent.names.withLock({ $0[block] }) { return known }
        let name = computeName(of: block)
        recent.names.withLock { names in
            if names.count >= Self.remembered { names.removeAll(keepingCapacity: true) }
            names[block] = name
        }
        return name
    }

    private func computeName(of block: ArraySlice<UInt8>) -> String {
        var hmac = keyed
        hmac.update(data: block)
        let mac = hmac.finalize()
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(20)
        for byte in mac.prefix(10) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
