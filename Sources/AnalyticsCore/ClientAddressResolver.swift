/// Finds the client's address: the TCP peer, or — when the peer is a trusted proxy — the last
/// untrusted hop of `X-Forwarded-For` (the left part of that header is whatever the client wrote).
public struct ClientAddressResolver: Sendable {
    /// The networks whose `X-Forwarded-For` is believed (`ANALYTICS_TRUSTED_PROXIES`).
    public let trustedProxies: [IPNetwork]

    public init(trustedProxies: [IPNetwork]) {
        self.trustedProxies = trustedProxies
    }

    /// Whether `address` lies in one of ``trustedProxies``.
    public func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The address to identify and rate-limit the client by.
    ///
    /// The hops of `X-Forwarded-For` are read from the right, since each trusted proxy appends the
    /// address it received from; the first hop that is not trusted is the client. If every hop is
    /// trusted, the leftmost is taken. A hop that is not an address stops the walk, and the last
    /// address read (a trusted proxy's) is taken.
    /// - Parameters:
    ///   - peer: the address of the TCP peer.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in order.
    /// - Returns: `peer` when it is not a trusted proxy; nil only when `peer` is nil.
    public func clientAddress(peer: IPAddress?, forwardedFor: [String]) -> IPAddress? {
        guard let peer, !trustedProxies.isEmpty, isTrusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }
        var client = peer
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client
    }
}
