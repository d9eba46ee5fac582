import AnalyticsCore
import Testing

@Suite("Event dimensions")
struct EventDimensionsTests {
    static let iPhoneSafari = UserAgentDimensions(browser: "Safari", browserMajor: "18", os: "iOS", device: .mobile)

    @Test func anEventsDimensionsComeFromItsPageItsReferrerItsUserAgentAndItsCountry() {
        let dimensions = EventDimensions(
            pageURL: "https://Shop.test:8443/pricing?utm_source=news&utm_medium=email&utm_campaign=winter&token=x#plans",
            referrer: "https://www.google.fr/search?q=x", userAgent: Self.iPhoneSafari, country: "FR")
        #expect(
            dimensions.values == [
                "shop.test", "/pricing", "Google", "news", "email", "winter", "Safari", "Safari 18", "iOS", "mobile", "FR",
            ])
        #expect(dimensions[.referrerSource] == "Google")
        #expect(EventDimensions.Name.allCases.map(\.rawValue).contains("browser_version"))
    }

    @Test func navigationWithinTheSiteAndDirectVisitsHaveNoSource() {
        let within = EventDimensions(
            pageURL: "https://site.test/b", referrer: "https://www.site.test/a", userAgent: UserAgentDimensions(), country: nil)
        #expect(within.referrerSource == "")
        let direct = EventDimensions(pageURL: "https://site.test/b", referrer: nil, userAgent: UserAgentDimensions(), country: nil)
        #expect(direct.referrerSource == "")
        #expect(direct.country == "")
    }

    @Test func packedDimensionsReadBackTheSame() {
        let dimensions = EventDimensions(
            pageURL: "https://site.test/caf%C3%A9?utm_campaign=%C3%A9t%C3%A9", referrer: "https://news.ycombinator.com/",
            userAgent: Self.iPhoneSafari, country: "DE")
        #expect(EventDimensions(packed: dimensions.packed) == dimensions)
        #expect(EventDimensions(packed: EventDimensions().packed) == EventDimensions())
    }

    @Test(arguments: ["", "1", "2\ta\tb\tc\td\te\tf\tg\th\ti\tj\tk", "1\ta\tb", "1\ta\tb\tc\td\te\tf\tg\th\ti\tj\tk\tl"])
    func textNotInThePackedFormatIsRefused(text: String) {
        #expect(EventDimensions(packed: text) == nil)
    }

    @Test func valuesLoseControlCharactersAndAreCut() {
        var values: [EventDimensions.Name: String] = [.country: "F\tR", .path: "/a\nb\u{7F}c"]
        values[.utmSource] = String(repeating: "é", count: EventDimensions.maximumValueLength + 10)
        let dimensions = EventDimensions(values: values)
        #expect(dimensions.country == "FR")
        #expect(dimensions.path == "/abc")
        #expect(dimensions.utmSource.count == EventDimensions.maximumValueLength)
        #expect(EventDimensions(packed: dimensions.packed) == dimensions)
    }
}
