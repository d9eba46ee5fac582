import AnalyticsCore
import Foundation
import GatewayKit
import TestSupport
import Testing

/// Events sent by browsers on other origins (the tracker on a site's pages), against a real Redis:
/// CORS, the origin list, the body types `sendBeacon` and `fetch` use, `Expect: 100-continue`, and
/// the visitor cookie only where a browser would keep it.
@Suite("Collection from other origins against a real Redis")
struct CrossOriginCollectionTests {
    typealias Harness = GatewayIntegrationTests.Harness
    static let event = Array(#"{"event_type":"click"}"#.utf8)

    @Test func aPreflightFromAnyOriginIsAnsweredByDefault() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let preflight = try await h.http.send(
            "OPTIONS", "/api/analytics/event", body: nil,
            headers: [
                ("Origin", "https://site.example"), ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            timeout: .seconds(5))
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "*")
        #expect(preflight.header("Access-Control-Allow-Methods")?.contains("POST") == true)
        // Authorization: the history routes take the stats token from dashboards on other origins.
        #expect(preflight.header("Access-Control-Allow-Headers") == "Content-Type, Authorization")
        #expect(preflight.header("Access-Control-Max-Age") == "86400")
        #expect(preflight.header("Vary") == nil)
        // The answers carry the origin header too: the event's, and the read routes'.
        let created = try await h.http.post(
            "/api/analytics/event", bytes: Self.event, headers: [("Origin", "https://site.example"), ("Content-Type", "application/json")])
        #expect(created.status == 201)
        #expect(created.header("Access-Control-Allow-Origin") == "*")
        let realtime = try await h.http.get("/api/analytics/realtime", headers: [("Origin", "https://site.example")])
        #expect(realtime.header("Access-Control-Allow-Origin") == "*")
        // Not on the operator's routes, nor without an Origin.
        #expect(
            try await h.http.get("/healthz", headers: [("Origin", "https://site.example")]).header("Access-Control-Allow-Origin") == nil)
        #expect(try await h.http.get("/api/analytics/realtime").header("Access-Control-Allow-Origin") == nil)
    }

    @Test func withAListOnlyItsOriginsMaySendAndNothingElseIsKept() async throws {
        let h = try await Harness { $0.allowedOrigins = .list(["https://site.example", "https://www.site.example"]) }
        defer { Task { await h.stop() } }
        // Allowed: the origin is echoed, and the answer varies by origin.
        let preflight = try await h.http.send(
            "OPTIONS", "/api/analytics/event", body: nil, headers: [("Origin", "https://www.site.example")], timeout: .seconds(5))
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "https://www.site.example")
        #expect(preflight.header("Vary") == "Origin")
        let created = try await h.http.post(
            "/api/analytics/event", bytes: Self.event, headers: [("Origin", "https://site.example"), ("Content-Type", "text/plain")])
        #expect(created.status == 201)
        #expect(created.header("Access-Control-Allow-Origin") == "https://site.example")
        #expect(created.header("Vary") == "Origin")
        // Another origin: 403 for the preflight and for the event, which is not kept.
        let refusedPreflight = try await h.http.send(
            "OPTIONS", "/api/analytics/event", body: nil, headers: [("Origin", "https://evil.example")], timeout: .seconds(5))
        #expect(refusedPreflight.status == 403)
        #expect(refusedPreflight.header("Access-Control-Allow-Origin") == nil)
        let refused = try await h.http.post(
            "/api/analytics/event", bytes: Self.event, headers: [("Origin", "https://evil.example"), ("Content-Type", "text/plain")])
        #expect(refused.status == 403)
        #expect((refused.json["error"] as? String)?.contains("origin") == true)
        #expect(refused.header("Access-Control-Allow-Origin") == nil)
        // A request without an Origin (a server, curl) is no browser's: allowed.
        let fromServer = try await h.http.post("/api/analytics/event", bytes: Self.event, headers: [("Content-Type", "application/json")])
        #expect(fromServer.status == 201)
        #expect(try await h.streamLength() == 2)
        #expect(try await h.http.get("/metrics").body.contains(#"analytics_gateway_events_rejected_total{rule="origin"} 1"#))
    }

    @Test func jsonComesAsJSONPlainTextOrUntypedAndAnythingElseIs415() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        for type in [
            "application/json", "application/json; charset=utf-8", "text/plain;charset=UTF-8", "TEXT/PLAIN", " Application/JSON \t;x", nil,
        ] {
            let headers = type.map { [("Content-Type", $0)] } ?? []
            let answer = try await h.http.post("/api/analytics/event", bytes: Self.event, headers: headers)
            #expect(answer.status == 201, "\(type ?? "no type")")
        }
        for type in [
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html", "application/jsonp", "text/plai", ";",
        ] {
            let answer = try await h.http.post("/api/analytics/event", bytes: Self.event, headers: [("Content-Type", type)])
            #expect(answer.status == 415, "\(type)")
            #expect((answer.json["error"] as? String)?.contains("content type") == true)
        }
        #expect(try await h.streamLength() == 6)
        #expect(try await h.http.get("/metrics").body.contains(#"analytics_gateway_events_rejected_total{rule="content_type"} 6"#))
    }

    @Test func aClientThatExpects100ContinueSendsItsBodyAtOnce() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let body = try JSONSerialization.data(withJSONObject: [
            "event_type": "click", "event_data": ["x": String(repeating: "a", count: 4000)],
        ])
        let directory = TemporaryDirectory("continue")
        let file = directory.url.appendingPathComponent("body.json")
        try body.write(to: file)
        // curl waits for `100 Continue` before sending a body over 1 KiB; told to wait 30 s, it would
        // take that long if the gateway never answered the expectation. A generous bound keeps the
        // check independent of how busy the machine is.
        let url = "http://127.0.0.1:\(h.http.port)/api/analytics/event"
        let sent = try await Curl.run(
            [
                "-v", "-o", "/dev/null", "--expect100-timeout", "30", "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
                "--data-binary",
                "@\(file.path)", url,
            ],
            in: directory)
        #expect(sent.httpStatus == 201, "\(sent.output)")
        #expect(sent.elapsed < .seconds(15), "\(sent.elapsed)")
        #expect(sent.output.contains("HTTP/1.1 100 Continue"))
        // Refused on its head: the final answer comes at once, without the body.
        let refused = try await Curl.run(
            [
                "-v", "-o", "/dev/null", "--expect100-timeout", "30", "-H", "Content-Type: application/xml", "-H", "Expect: 100-continue",
                "--data-binary",
                "@\(file.path)", url,
            ],
            in: directory)
        #expect(refused.httpStatus == 415, "\(refused.output)")
        #expect(!refused.output.contains("100 Continue"))
        #expect(refused.elapsed < .seconds(15), "\(refused.elapsed)")
        #expect(try await h.streamLength() == 1)
    }

    @Test func theVisitorCookieIsSetOnlyWhereTheBrowserWouldKeepIt() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let port = h.http.port
        let sameOrigin = try await h.http.post(
            "/api/analytics/event", bytes: Self.event,
            headers: [("Origin", "http://127.0.0.1:\(port)"), ("Sec-Fetch-Site", "same-origin"), ("Content-Type", "text/plain")])
        #expect(sameOrigin.header("Set-Cookie")?.hasPrefix("analytics_vid=") == true)
        let crossSite = try await h.http.post(
            "/api/analytics/event", bytes: Self.event,
            headers: [("Origin", "https://site.example"), ("Sec-Fetch-Site", "cross-site"), ("Content-Type", "text/plain")])
        #expect(crossSite.status == 201)
        #expect(crossSite.header("Set-Cookie") == nil)
        // A browser that does not say: an Origin of another host is another site.
        let otherHost = try await h.http.post(
            "/api/analytics/event", bytes: Self.event, headers: [("Origin", "https://site.example"), ("Content-Type", "text/plain")])
        #expect(otherHost.header("Set-Cookie") == nil)
        // Cross-site visitors still get their (cookieless) visitor id, the same for the same client.
        let events = try await h.entries()
        #expect(events.count == 3)
        #expect(events[1].visitorID == events[2].visitorID)
    }
}
