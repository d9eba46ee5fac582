import AnalyticsCore
import Testing

@Suite("IPAddress and IPNetwork")
struct IPNetworkTests {
    private func ip(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
        return address
    }

    private func network(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> IPNetwork {
        try #require(IPNetwork(text), sourceLocation: sourceLocation)
    }

    // MARK: addresses

    @Test func ipv4() throws {
        let a = try #require(IPAddress("192.0.2.7"))
        #expect(a.isIPv4)
        #expect(a.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 7])
        #expect(a.description == "192.0.2.7")
        #expect(IPAddress(" 192.0.2.7\t") == a)
    }

    @Test func ipv6() throws {
        let a = try #require(IPAddress("2001:db8::1"))
        #expect(!a.isIPv4)
        #expect(a.bytes == [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(a.description == "2001:db8:0:0:0:0:0:1")
        #expect(IPAddress("[2001:db8::1]") == a)
        #expect(IPAddress("2001:DB8:0:0:0:0:0:1") == a)
        #expect(IPAddress("::1")?.bytes == Array(repeating: 0, count: 15) + [1])
    }

    @Test func ipv4MappedIsTheSameAddress() throws {
        let mapped = try #require(IPAddress("::ffff:10.1.2.3"))
        #expect(mapped.isIPv4)
        #expect(mapped == ip("10.1.2.3"))
        #expect(mapped.description == "10.1.2.3")
        #expect(IPAddress("::ffff:a01:203") == ip("10.1.2.3"))
    }

    @Test(arguments: [
        "", " ", "garbage", "10.0.0.256", "1.2.3", "1.2.3.4.5", "1.2.3.4/8", "::g", "1::2::3", "[::1", "::1]",
        "10.0.0.1:8080", "example.com", "-1.2.3.4",
    ])
    func invalidAddresses(text: String) {
        #expect(IPAddress(text) == nil)
    }

    // MARK: networks

    @Test func ipv4Membership() throws {
        let ten = try network("10.0.0.0/8")
        #expect(ten.prefixLength == 104)
        #expect(ten.contains(ip("10.0.0.0")))
        #expect(ten.contains(ip("10.255.255.255")))
        #expect(!ten.contains(ip("11.0.0.0")))
        #expect(!ten.contains(ip("9.255.255.255")))
        #expect(!ten.contains(ip("::a00:1")))  // 10.0.0.1 in an IPv4-compatible (not mapped) IPv6 form

        let private12 = try network("172.16.0.0/12")
        #expect(private12.contains(ip("172.31.255.255")))
        #expect(!private12.contains(ip("172.32.0.0")))
        #expect(!private12.contains(ip("172.15.255.255")))

        let odd = try network("10.0.0.0/9")
        #expect(odd.contains(ip("10.127.0.1")))
        #expect(!odd.contains(ip("10.128.0.1")))

        let subnet = try network("192.168.1.0/24")
        #expect(subnet.contains(ip("192.168.1.200")))
        #expect(!subnet.contains(ip("192.168.2.1")))

        let host = try network("192.168.1.77/32")
        #expect(host.contains(ip("192.168.1.77")))
        #expect(!host.contains(ip("192.168.1.78")))

        // Host bits in the written address do not matter.
        #expect(try network("192.168.1.99/24").contains(ip("192.168.1.1")))
    }

    @Test func ipv4SlashZeroMatchesEveryIPv4ButNoIPv6() throws {
        let all = try network("0.0.0.0/0")
        #expect(all.prefixLength == 96)
        #expect(all.contains(ip("1.2.3.4")))
        #expect(all.contains(ip("255.255.255.255")))
        #expect(!all.contains(ip("::1")))
        #expect(!all.contains(ip("2001:db8::1")))
    }

    @Test func ipv6Membership() throws {
        let ula = try network("fd00::/8")
        #expect(ula.prefixLength == 8)
        #expect(ula.contains(ip("fd12:3456::1")))
        #expect(!ula.contains(ip("fe80::1")))
        #expect(!ula.contains(ip("10.0.0.1")))

        let doc = try network("2001:db8::/32")
        #expect(doc.contains(ip("2001:db8:ffff:ffff::1")))
        #expect(!doc.contains(ip("2001:db9::")))

        let odd = try network("2001:db8::/33")
        #expect(odd.contains(ip("2001:db8:7fff::1")))
        #expect(!odd.contains(ip("2001:db8:8000::1")))

        let all = try network("::/0")
        #expect(all.contains(ip("::1")))
        #expect(all.contains(ip("2001:db8::1")))
        #expect(all.contains(ip("1.2.3.4")))

        #expect(try network("[fd00::]/8").contains(ip("fd00::5")))
    }

    @Test func bareAddressesAreSingleHosts() throws {
        let v4 = try network("203.0.113.9")
        #expect(v4.prefixLength == 128)
        #expect(v4.contains(ip("203.0.113.9")))
        #expect(v4.contains(ip("::ffff:203.0.113.9")))
        #expect(!v4.contains(ip("203.0.113.8")))

        let v6 = try network("::1")
        #expect(v6.prefixLength == 128)
        #expect(v6.contains(ip("::1")))
        #expect(!v6.contains(ip("::2")))
        #expect(!v6.contains(ip("0.0.0.1")))
    }

    @Test func ipv4NetworksMatchIPv4MappedAddresses() throws {
        let ten = try network("10.0.0.0/8")
        #expect(ten.contains(ip("::ffff:10.9.8.7")))
        #expect(!ten.contains(ip("::ffff:11.9.8.7")))
        #expect(try network("::ffff:10.0.0.1").contains(ip("10.0.0.1")))
    }

    @Test func ipv4MappedCIDRWithAnIPv6PrefixLength() throws {
        // RFC 4291 notation: the prefix length of an IPv6 block counts all 128 bits, so
        // "::ffff:0:0/96" is the whole IPv4-mapped range and "::ffff:10.0.0.0/104" is 10.0.0.0/8.
        let mapped = try network("::ffff:0:0/96")
        #expect(mapped.prefixLength == 96)
        #expect(mapped == (try network("0.0.0.0/0")))
        #expect(mapped.contains(ip("1.2.3.4")))
        #expect(mapped.contains(ip("0.0.0.0")))
        #expect(mapped.contains(ip("255.255.255.255")))
        #expect(mapped.contains(ip("::ffff:10.9.8.7")))
        #expect(!mapped.contains(ip("::1")))
        #expect(!mapped.contains(ip("::a00:1")))  // IPv4-compatible, not mapped
        #expect(!mapped.contains(ip("2001:db8::1")))

        let ten = try network("::ffff:10.0.0.0/104")
        #expect(ten.prefixLength == 104)
        #expect(ten == (try network("10.0.0.0/8")))
        #expect(ten.contains(ip("10.1.2.3")))
        #expect(ten.contains(ip("10.255.255.255")))
        #expect(ten.contains(ip("::ffff:10.1.2.3")))
        #expect(!ten.contains(ip("11.0.0.1")))
        #expect(!ten.contains(ip("9.255.255.255")))
        #expect(!ten.contains(ip("2001:db8::1")))

        // The same block in hexadecimal and in brackets.
        #expect(try network("::ffff:a00:0/104") == ten)
        #expect(try network("[::ffff:10.0.0.0]/104") == ten)

        let odd = try network("::ffff:10.0.0.0/105")  // 10.0.0.0/9
        #expect(odd.contains(ip("10.127.0.1")))
        #expect(!odd.contains(ip("10.128.0.1")))

        // A bare mapped address is still a single host.
        let host = try network("::ffff:192.0.2.7")
        #expect(host.prefixLength == 128)
        #expect(host.contains(ip("192.0.2.7")))
        #expect(!host.contains(ip("192.0.2.8")))
    }

    @Test func prefixOfAMappedBlockCountsIPv6BitsNotIPv4Bits() throws {
        // "::ffff:10.0.0.0/8" is a /8 over 128 bits (::/8), not 10.0.0.0/8: every address whose first
        // byte is zero, so all of IPv4 whatever its first octet, and no global IPv6 address.
        let block = try network("::ffff:10.0.0.0/8")
        #expect(block.prefixLength == 8)
        #expect(block != (try network("10.0.0.0/8")))
        #expect(block.contains(ip("10.1.2.3")))
        #expect(block.contains(ip("11.0.0.1")))
        #expect(block.contains(ip("192.0.2.1")))
        #expect(block.contains(ip("::1")))
        #expect(!block.contains(ip("2001:db8::1")))
        #expect(!block.contains(ip("fd00::1")))

        // Prefix lengths up to 128 are valid in IPv6 notation, even when the address is an IPv4 one.
        #expect(try network("::ffff:10.0.0.0/33").prefixLength == 33)
        #expect(try network("::ffff:10.0.0.1/128") == (try network("10.0.0.1/32")))
        #expect(IPNetwork("::ffff:10.0.0.0/129") == nil)
        // IPv4 notation keeps counting over 32 bits.
        #expect(IPNetwork("10.0.0.0/104") == nil)
    }

    @Test(arguments: [
        ("10.0.0.0/8 ", "10.0.0.0/8"),
        (" 10.0.0.0 / 8", "10.0.0.0/8"),
        ("10.0.0.0/ 8", "10.0.0.0/8"),
        ("10.0.0.0 /8", "10.0.0.0/8"),
        ("\t10.0.0.0/8\t", "10.0.0.0/8"),
        ("10.0.0.0\t/\t8", "10.0.0.0/8"),
        ("fd00:: / 8", "fd00::/8"),
        (" [fd00::]/8 ", "fd00::/8"),
        ("::ffff:10.0.0.0 / 104", "10.0.0.0/8"),
        (" 192.0.2.1 ", "192.0.2.1"),
    ])
    func spacesAroundAddressAndPrefixAreIgnored(text: String, canonical: String) throws {
        let parsed = try network(text)
        #expect(parsed == (try network(canonical)))
    }

    @Test(arguments: [
        "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/abc", "10.0.0.0/8/8", "10.0.0.0/8 8", "10.0.0.0/ ", "10.0.0.0 8", "::/129",
        "fd00::/200", "garbage", "garbage/8", "", "/8", "10.0.0/8", "10.0.0.256/8",
        "::ffff:10.0.0.0/129", " / 8", "10.0.0.0/\n8",
    ])
    func invalidNetworks(text: String) {
        #expect(IPNetwork(text) == nil)
    }
}
