import AnalyticsCore
import Foundation
import GatewayKit
import TestSupport
import Testing

/// The bot filter and the referrer blocklist against a real Redis: dropped events are answered
/// 202, kept nowhere, and counted by reason.
@Suite("Bot filter against a real Redis")
struct BotFilterTests {
    typealias Harness = GatewayIntegrationTests.Harness
    static let browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    func post(_ h: Harness, userAgent: String?, body: String = #"{"event_type":"click"}"#) async throws -> HTTPTestClient.Answer {
        var headers = [("Content-Type", "text/plain")]
        if let userAgent { headers.append(("User-Agent", userAgent)) }
        return try await h.http.post("/api/analytics/event", bytes: Array(body.utf8), headers: headers)
    }

    @Test func crawlersAndEmptyUserAgentsAreAnswered202AndKeptNowhere() async throws {
        let h = try await Harness { $0.botFilter = true }
        defer { Task { await h.stop() } }
        let visitor = try await post(h, userAgent: Self.browser)
        #expect(visitor.status == 201)
        for agent in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "curl/8.5.0", "python-requests/2.31.0", "", nil,
        ] {
            let dropped = try await post(h, userAgent: agent)
            #expect(dropped.status == 202, "\(agent ?? "no user agent")")
            #expect(dropped.json["success"] as? Bool == true)
            #expect(dropped.json["message"] as? String == "Event ignored")
            #expect(dropped.header("X-Analytics-Dropped") == "bot")
            #expect(dropped.header("Set-Cookie") == nil)
        }
        #expect(try await h.streamLength() == 1)
        let metrics = try await h.http.get("/metrics").body
        #expect(metrics.contains(#"analytics_gateway_events_dropped_total{reason="bot"} 6"#))
        // A bot's server-side pageview is served, not counted.
        let page = try await h.http.get("/demo", headers: [("User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)")])
        #expect(page.status == 200)
        #expect(page.header("Set-Cookie") == nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await h.streamLength() == 1)
        #expect(try await h.http.get("/metrics").body.contains(#"analytics_gateway_events_dropped_total{reason="bot"} 7"#))
    }

    @Test func referrerSpamIsDroppedWithItsSubdomains() async throws {
        let h = try await Harness {
            $0.botFilter = true
            $0.blockedReferrers = try! ReferrerBlocklist(parsing: "spam.example, seo-offers.test")
        }
        defer { Task { await h.stop() } }
        for referrer in ["https://spam.example/win", "http://www.SPAM.example:8080/", "https://a.b.seo-offers.test/x"] {
            let dropped = try await post(h, userAgent: Self.browser, body: #"{"event_type":"pageview","referrer":"\#(referrer)"}"#)
            #expect(dropped.status == 202, "\(referrer)")
            #expect(dropped.header("X-Analytics-Dropped") == "referrer")
        }
        for referrer in ["https://notspam.example/", "https://example.org/spam.example"] {
            let kept = try await post(h, userAgent: Self.browser, body: #"{"event_type":"pageview","referrer":"\#(referrer)"}"#)
            #expect(kept.status == 201, "\(referrer)")
        }
        #expect(try await h.streamLength() == 2)
        #expect(try await h.http.get("/metrics").body.contains(#"analytics_gateway_events_dropped_total{reason="referrer"} 3"#))
    }

    @Test func theFilterIsOnByDefaultAndOffKeepsEverything() async throws {
        #expect(AnalyticsConfiguration().botFilter)
        #expect(try AnalyticsConfiguration.load(environment: ["ANALYTICS_BOT_FILTER": "off"]).0.botFilter == false)
        let h = try await Harness { $0.botFilter = false }
        defer { Task { await h.stop() } }
        #expect(try await post(h, userAgent: "Googlebot/2.1").status == 201)
        #expect(try await post(h, userAgent: nil).status == 201)
        #expect(try await h.streamLength() == 2)
    }
}
