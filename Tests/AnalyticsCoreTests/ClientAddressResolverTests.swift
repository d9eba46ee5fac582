import AnalyticsCore
import Testing

@Suite("ClientAddressResolver")
struct ClientAddressResolverTests {
    private func ip(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
        return address
    }

    private func resolver(_ cidrs: String...) -> ClientAddressResolver {
        ClientAddressResolver(trustedProxies: cidrs.map { IPNetwork($0)! })
    }

    @Test func withoutTrustedProxiesThePeerIsTheClient() {
        let r = resolver()
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4"]) == ip("10.0.0.1"))
        #expect(r.clientAddress(peer: ip("203.0.113.5"), forwardedFor: ["1.2.3.4, 5.6.7.8"]) == ip("203.0.113.5"))
        #expect(r.clientAddress(peer: nil, forwardedFor: ["1.2.3.4"]) == nil)
        #expect(!r.isTrusted(ip("10.0.0.1")))
    }

    @Test func anUntrustedPeerIsTheClientWhateverItForwards() {
        let r = resolver("10.0.0.0/8")
        #expect(r.clientAddress(peer: ip("203.0.113.5"), forwardedFor: ["1.2.3.4"]) == ip("203.0.113.5"))
        #expect(r.clientAddress(peer: nil, forwardedFor: ["1.2.3.4"]) == nil)
    }

    @Test func aTrustedPeerWithoutForwardedForIsTheClient() {
        let r = resolver("10.0.0.0/8")
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: []) == ip("10.0.0.1"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: [""]) == ip("10.0.0.1"))
    }

    @Test func trustedPeerGivesTheLastUntrustedHop() {
        let r = resolver("10.0.0.0/8")
        #expect(r.isTrusted(ip("10.0.0.1")))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4"]) == ip("1.2.3.4"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4, 10.0.0.2"]) == ip("1.2.3.4"))
        // The left part is whatever the client wrote: a spoofed first hop is not believed.
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["6.6.6.6, 1.2.3.4, 10.0.0.3, 10.0.0.2"]) == ip("1.2.3.4"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["6.6.6.6,1.2.3.4"]) == ip("1.2.3.4"))
    }

    @Test func allHopsTrustedGivesTheLeftmost() {
        let r = resolver("10.0.0.0/8", "192.168.0.0/16")
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["192.168.1.1, 10.0.0.3, 10.0.0.2"]) == ip("192.168.1.1"))
    }

    @Test func aGarbageHopStopsTheWalk() {
        let r = resolver("10.0.0.0/8")
        // Right of the garbage is a trusted proxy: the walk stops there, never reaching 1.2.3.4.
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4, garbage, 10.0.0.2"]) == ip("10.0.0.2"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4, unknown"]) == ip("10.0.0.1"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4:5555"]) == ip("10.0.0.1"))
        // Left of the last untrusted hop, garbage does not matter.
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["garbage, 1.2.3.4"]) == ip("1.2.3.4"))
    }

    @Test func multipleHeaderValuesAreOneList() {
        let r = resolver("10.0.0.0/8")
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["6.6.6.6, 1.2.3.4", "10.0.0.2"]) == ip("1.2.3.4"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4", "5.6.7.8"]) == ip("5.6.7.8"))
        #expect(r.clientAddress(peer: ip("10.0.0.1"), forwardedFor: ["1.2.3.4", "10.0.0.9, 10.0.0.8"]) == ip("1.2.3.4"))
    }

    @Test func ipv6Proxies() {
        let r = resolver("fd00::/8", "127.0.0.1")
        #expect(r.clientAddress(peer: ip("fd00::1"), forwardedFor: ["2001:db8::7"]) == ip("2001:db8::7"))
        #expect(r.clientAddress(peer: ip("fd00::1"), forwardedFor: ["[2001:db8::7], fd00::2"]) == ip("2001:db8::7"))
        #expect(r.clientAddress(peer: ip("127.0.0.1"), forwardedFor: ["198.51.100.1"]) == ip("198.51.100.1"))
        #expect(r.clientAddress(peer: ip("::ffff:127.0.0.1"), forwardedFor: ["198.51.100.1"]) == ip("198.51.100.1"))
        #expect(r.clientAddress(peer: ip("127.0.0.2"), forwardedFor: ["198.51.100.1"]) == ip("127.0.0.2"))
    }
}
