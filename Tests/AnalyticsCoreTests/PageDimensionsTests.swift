import AnalyticsCore
import Testing

@Suite("Page dimensions and referrer sources")
struct PageDimensionsTests {
    @Test(arguments: [
        ("https://Example.TEST/pricing?plan=pro#faq", "example.test", "/pricing"),
        ("https://example.test", "example.test", "/"),
        ("https://example.test?x=1", "example.test", "/"),
        ("http://user:secret@example.test:8080/a/b/", "example.test", "/a/b/"),
        ("https://[2001:DB8::1]:443/x", "[2001:db8::1]", "/x"),
        ("https://example.test/caf%C3%A9?q=1", "example.test", "/caf%C3%A9"),
        ("/relative/path?utm_source=x", "", "/relative/path"),
        ("https://exämple.test/café/ü#é", "exämple.test", "/café/ü"),
        ("urn:x://host/after-a-first-colon", "host", "/after-a-first-colon"),
        ("mailto:someone", "", "mailto:someone"),
        ("https:", "", "https:"),
        ("https:/", "", "https:/"),
        ("https://", "", "/"),
        ("https://host:", "host", "/"),
    ])
    func aPageURLGivesItsHostAndPathWithoutQueryOrFragment(url: String, host: String, path: String) {
        let page = PageDimensions(url: url)
        #expect(page.host == host)
        #expect(page.path == path)
    }

    @Test func anEventWithoutAPageHasNoPageDimensions() {
        #expect(PageDimensions(url: nil) == PageDimensions())
    }

    @Test func campaignTagsAreTakenFromTheQueryDecodedAndTrimmed() {
        let page = PageDimensions(
            url:
                "https://s.test/?utm_source=news%20letter&utm_medium=e+mail&utm_campaign=%20winter%20&utm_source=second&ref=x#utm_medium=no"
        )
        #expect(page.utmSource == "news letter")
        #expect(page.utmMedium == "e mail")
        #expect(page.utmCampaign == "winter")
    }

    @Test func aMalformedTagIsKeptAsSentWithoutControlCharactersAndCutToItsMaximum() {
        #expect(PageDimensions(url: "https://s.test/?utm_source=100%").utmSource == "100%")
        #expect(PageDimensions(url: "https://s.test/?utm_source=a%0Ab%09c").utmSource == "abc")
        let long = String(repeating: "x", count: 500)
        #expect(PageDimensions(url: "https://s.test/?utm_campaign=\(long)").utmCampaign.count == PageDimensions.maximumTagLength)
    }

    @Test(arguments: [
        ("https://www.google.com/", "Google"),
        ("https://www.google.co.uk/search?q=x", "Google"),
        ("https://news.google.fr/", "Google"),
        ("https://www.bing.com/search?q=x", "Bing"),
        ("https://duckduckgo.com/", "DuckDuckGo"),
        ("https://l.facebook.com/l.php?u=x", "Facebook"),
        ("https://m.facebook.com/", "Facebook"),
        ("https://lnkd.in/abc", "LinkedIn"),
        ("https://www.linkedin.com/feed/", "LinkedIn"),
        ("https://t.co/abc", "X"),
        ("https://x.com/someone", "X"),
        ("https://github.com/org/repo", "GitHub"),
        ("https://someone.github.io/", "GitHub"),
        ("https://news.ycombinator.com/item?id=1", "Hacker News"),
        ("https://yandex.ru/search", "Yandex"),
        ("https://search.yahoo.co.jp/", "Yahoo"),
        ("https://www.reddit.com/r/swift", "Reddit"),
        ("https://www.example.org/links", "example.org"),
        ("https://blog.example.org/post", "blog.example.org"),
        ("https://googleblog.example.net/", "googleblog.example.net"),
        ("https://google.example.com/", "google.example.com"),
    ])
    func aReferrerIsNamedByItsHostOrAsAWellKnownSource(referrer: String, source: String) {
        #expect(ReferrerSource.of(referrer: referrer, pageHost: "site.test") == source)
    }

    @Test func directVisitsAndNavigationWithinTheSiteHaveNoSource() {
        #expect(ReferrerSource.of(referrer: nil, pageHost: "site.test") == "")
        #expect(ReferrerSource.of(referrer: "", pageHost: "site.test") == "")
        #expect(ReferrerSource.of(referrer: "https://site.test/other", pageHost: "site.test") == "")
        #expect(ReferrerSource.of(referrer: "https://www.site.test/other", pageHost: "site.test") == "")
        #expect(ReferrerSource.of(referrer: "https://site.test/", pageHost: "www.site.test") == "")
        // A referrer that is not a URL with a host names no site.
        #expect(ReferrerSource.of(referrer: "android-app", pageHost: "site.test") == "")
        // Another subdomain of the site is another site, as browsers see it.
        #expect(ReferrerSource.of(referrer: "https://docs.site.test/", pageHost: "site.test") == "docs.site.test")
    }
}
