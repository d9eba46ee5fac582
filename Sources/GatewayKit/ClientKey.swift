import AnalyticsCore
import Crypto

/// Names a client in the shared rate limit: a keyed hash of its address block (the address for
/// IPv4, the /64 for IPv6), so every gateway of a deployment names it alike and Redis never holds
/// the address.
public struct ClientKey: Sendable {
    /// The HMAC with its key already absorbed, copied for each name.
    private let keyed: HMAC<SHA256>

    /// - Parameter secret: the deployment's secret, the same on every gateway.
    public init(secret: ServerSecret) {
        keyed = HMAC<SHA256>(key: secret.key(for: "rate-limit client"))
    }

    /// The client's name: 20 hex digits (80 bits) of HMAC-SHA256 over its address block; `unknown`
    /// for a client without an address (a Unix-socket peer).
    public func name(of address: IPAddress?) -> String {
        guard let address else { return "unknown" }
        var hmac = keyed
        hmac.update(data: address.clientBlock)
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
