import AnalyticsCore
import Testing

@Suite("ReferrerBlocklist")
struct ReferrerBlocklistTests {
    private static let blocklist = try! ReferrerBlocklist(parsing: "spam.example, bad.test, 192.0.2.7")

    @Test(arguments: [
        "https://spam.example/", "http://spam.example", "https://spam.example/some/page?q=1#top", "https://spam.example?q",
        "https://spam.example#top", "https://bad.test/", "//spam.example/protocol-relative",
    ])
    func aListedHostIsBlocked(referrer: String) {
        #expect(Self.blocklist.blocks(referrer: referrer))
    }

    @Test(arguments: ["https://x.spam.example/", "http://a.b.spam.example/page", "https://www.bad.test"])
    func aSubdomainOfAListedHostIsBlocked(referrer: String) {
        #expect(Self.blocklist.blocks(referrer: referrer))
    }

    @Test(arguments: [
        "https://notspam.example/", "https://spam.example.com/", "https://example/", "https://spam-example/",
        "https://good.example/?ref=spam.example", "https://good.example/spam.example", "https://spam.example@good.example/",
        "https://good.example/#https://spam.example",
    ])
    func aHostThatOnlyEndsLikeAListedOneOrMentionsItIsNotBlocked(referrer: String) {
        #expect(!Self.blocklist.blocks(referrer: referrer))
    }

    @Test(arguments: [
        "https://spam.example:8443/x", "https://user:secret@spam.example/", "https://user@x.spam.example:80", "https://spam.example./",
        "HTTPS://SPAM.Example/Page", "https://X.Spam.EXAMPLE.", "  https://spam.example/  ",
    ])
    func portUserInformationCaseAndATrailingDotDoNotMatter(referrer: String) {
        #expect(Self.blocklist.blocks(referrer: referrer))
    }

    @Test func anIPv4AddressIsBlockedExactlyAndNeverAsAParentDomain() {
        #expect(Self.blocklist.blocks(referrer: "http://192.0.2.7/"))
        #expect(Self.blocklist.blocks(referrer: "http://192.0.2.7:8080/page"))
        #expect(!Self.blocklist.blocks(referrer: "http://192.0.2.70/"))
        #expect(!Self.blocklist.blocks(referrer: "http://10.192.0.2.7/"))
        #expect(!Self.blocklist.blocks(referrer: "http://[2001:db8::1]/"))
        #expect(!Self.blocklist.blocks(referrer: "http://[2001:db8::1]:8080/"))
    }

    @Test(
        arguments: [
            nil, "", " ", "garbage", "spam.example", "spam.example/page", "://spam.example", "https://", "https:///path",
            "https://spam.example:port/", "https://sp am.example/", "https://spam..example/", "javascript:alert(1)",
            "mailto:a@spam.example",
            "https://spam_example/", "1http://spam.example/",
        ] as [String?])
    func noOrAnUnparsableReferrerIsNeverBlocked(referrer: String?) {
        #expect(!Self.blocklist.blocks(referrer: referrer))
    }

    @Test func anEmptyListBlocksNothing() throws {
        let empty = try ReferrerBlocklist(parsing: "")
        #expect(empty.isEmpty)
        #expect(empty == ReferrerBlocklist())
        #expect(!empty.blocks(referrer: "https://spam.example/"))
        #expect(try ReferrerBlocklist(parsing: " , ,").isEmpty)
    }

    @Test func theListIsParsedIntoLowerCaseHostsWithoutTrailingDots() throws {
        let list = try ReferrerBlocklist(parsing: " spam.example ,Bad.Test.,,\txn--spm-qla.example ")
        #expect(list.hosts == ["spam.example", "bad.test", "xn--spm-qla.example"])
        #expect(try ReferrerBlocklist(hosts: ["SPAM.example", "spam.example."]).hosts == ["spam.example"])
    }

    @Test(arguments: [
        "spam.example, not a host", "https://spam.example", "*.spam.example", "spam..example", "-spam.example", "spam-.example",
        "[::1]", "2001:db8::1", "spam.example:8080", "spam.example/path", "späm.example", "spam_example.com", ".", "spam.example..",
        String(repeating: "a", count: 64) + ".example", String(repeating: "abcdefghi.", count: 26),
    ])
    func anEntryThatIsNotAHostNameIsRefused(list: String) {
        #expect(throws: InvalidValue.self) { try ReferrerBlocklist(parsing: list) }
    }

    @Test func theErrorNamesTheEntry() {
        do {
            _ = try ReferrerBlocklist(parsing: "spam.example, bad test")
            Issue.record("an invalid entry was accepted")
        } catch {
            #expect(error.expected.contains("'bad test'"))
        }
    }

    @Test func theLongestHostNameIsAccepted() throws {
        let label = String(repeating: "a", count: 63)
        let longest = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(longest.count == 253)
        let list = try ReferrerBlocklist(hosts: [longest])
        #expect(list.blocks(referrer: "https://\(longest)/"))
    }
}
