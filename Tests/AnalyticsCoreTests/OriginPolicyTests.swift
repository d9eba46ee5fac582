import AnalyticsCore
import Testing

@Suite("OriginPolicy")
struct OriginPolicyTests {
    @Test func anyOriginIsTheDefaultAndAllowsEveryone() throws {
        #expect(try AnalyticsConfiguration.load(environment: [:]).0.allowedOrigins == .any)
        let any = try OriginPolicy(parsing: " * ")
        #expect(any == .any)
        #expect(any.allows("https://whatever.example"))
        #expect(any.allowOriginHeader(for: "https://whatever.example")! == ("*", false))
        #expect(any.allowOriginHeader(for: nil) == nil)
    }

    @Test func aListAllowsItsOriginsWhateverTheirCase() throws {
        let list = try OriginPolicy(parsing: "https://Site.Example, http://localhost:8000 ,")
        #expect(list == .list(["https://site.example", "http://localhost:8000"]))
        #expect(list.allows("https://site.example"))
        #expect(list.allows("HTTPS://SITE.EXAMPLE"))
        #expect(list.allows("http://localhost:8000"))
        #expect(!list.allows("http://localhost:8001"))
        #expect(!list.allows("https://site.example.evil.test"))
        #expect(!list.allows("null"))
        // Not a browser's cross-origin request: allowed.
        #expect(list.allows(nil))
        #expect(list.allowOriginHeader(for: "https://site.example")! == ("https://site.example", true))
        #expect(list.allowOriginHeader(for: "https://evil.example") == nil)
    }

    @Test(arguments: [
        "", ",", "site.example", "https://", "https://site.example/", "https://site.example/path", "ftp://x", "https://u@site.example",
    ])
    func whatIsNotAnOriginIsRefused(text: String) {
        #expect(throws: InvalidValue.self) { try OriginPolicy(parsing: text) }
    }

    @Test func theHubFollowsTheListUnlessItHasItsOwn() throws {
        let shared = try AnalyticsConfiguration.load(environment: ["ANALYTICS_ALLOWED_ORIGINS": "https://site.example"]).0
        #expect(shared.wsAllowedOrigins == nil)
        let own = try AnalyticsConfiguration.load(environment: ["ANALYTICS_WS_ALLOWED_ORIGINS": "https://dash.example"]).0
        #expect(own.wsAllowedOrigins == .list(["https://dash.example"]))
        #expect(try AnalyticsConfiguration.load(environment: ["ANALYTICS_WS_ALLOWED_ORIGINS": ""]).0.wsAllowedOrigins == nil)
    }
}
