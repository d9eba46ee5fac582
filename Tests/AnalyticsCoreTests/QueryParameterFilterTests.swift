import AnalyticsCore
import Testing

@Suite("QueryParameterFilter and Redaction")
struct QueryParameterFilterTests {
    @Test(arguments: [
        ("https://s.test/a?token=abc&utm_source=news&x=1", "https://s.test/a?utm_source=news"),
        ("https://s.test/a?token=abc", "https://s.test/a"),
        ("https://s.test/a?", "https://s.test/a"),
        ("https://s.test/a?utm_campaign=w&utm_medium=mail#top", "https://s.test/a?utm_campaign=w&utm_medium=mail#top"),
        ("https://s.test/a?email=me%40x.test#frag", "https://s.test/a#frag"),
        ("/path?utm_term=a&&utm_content=b", "/path?utm_term=a&utm_content=b"),
        ("https://s.test/no-query", "https://s.test/no-query"),
        ("https://s.test/a#x?token=1", "https://s.test/a#x?token=1"),
    ])
    func onlyCampaignTagsStayByDefault(url: String, stored: String) {
        #expect(QueryParameterFilter().filtered(url) == stored)
    }

    @Test func allowedParametersStayInTheirOrder() {
        let filter = QueryParameterFilter(keeping: ["page", "lang"])
        #expect(filter.filtered("/list?session=1&lang=fr&page=2&utm_source=a") == "/list?lang=fr&page=2&utm_source=a")
        // Compared exactly: a prefix or another case is another name.
        #expect(filter.filtered("/list?pages=2&Page=3&page") == "/list?page")
    }

    @Test(arguments: [
        ("postgres://analytics:s3cr%40t@db:5432/analytics", "postgres://analytics:***@db:5432/analytics"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("postgres://user@host/db", "postgres://user@host/db"),
        ("failed: postgres://a:b@h/d and redis://:c@r:1", "failed: postgres://a:***@h/d and redis://:***@r:1"),
        ("no url here", "no url here"),
    ])
    func passwordsInURLsAreRedacted(text: String, redacted: String) {
        #expect(Redaction.redactingPasswords(in: text) == redacted)
    }

    @Test func aRefusedURLOrSecretIsNotRepeatedInTheError() {
        #expect(throws: ConfigurationError.self) {
            try AnalyticsConfiguration.load(environment: ["ANALYTICS_DATABASE_URL": "mysql://u:hunter2@h/d"])
        }
        do {
            _ = try AnalyticsConfiguration.load(environment: ["ANALYTICS_DATABASE_URL": "mysql://u:hunter2@h/d"])
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("mysql://u:***@h/d"))
        }
        do {
            _ = try AnalyticsConfiguration.load(environment: ["ANALYTICS_SECRET": "short-but-secret"])
        } catch {
            #expect(error.variable == "ANALYTICS_SECRET")
            #expect(!error.description.contains("short-but-secret"))
        }
    }

    @Test func aClientIsItsIPv4AddressOrItsIPv6Slash64() {
        #expect(IPAddress("2001:db8:1:2:aaaa::1")!.clientBlock == IPAddress("2001:db8:1:2:ffff:1:2:3")!.clientBlock)
        #expect(IPAddress("2001:db8:1:2::1")!.clientBlock != IPAddress("2001:db8:1:3::1")!.clientBlock)
        #expect(IPAddress("198.51.100.7")!.clientBlock != IPAddress("198.51.100.8")!.clientBlock)
        #expect(IPAddress("::ffff:198.51.100.7")!.clientBlock == IPAddress("198.51.100.7")!.clientBlock)
    }
}
