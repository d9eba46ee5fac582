import AnalyticsCore
import Foundation
import GatewayKit
import Logging
import RedisClient
import ServiceLifecycle
import TestSupport
import Testing

/// The gateway served in-process on a free port, against a real throwaway Redis, over real HTTP.
@Suite("Gateway against a real Redis")
struct GatewayIntegrationTests {
    final class Harness: Sendable {
        let server: RedisServer
        let redis: RedisClient
        let http: HTTPTestClient
        let group: ServiceGroup
        let task: Task<Void, any Error>
        let keyspace = RedisKeyspace()
        /// The secret of every gateway the tests start.
        static let secret = "test-secret-of-at-least-32-characters"

        init(server: RedisServer? = nil, _ adjust: (inout AnalyticsConfiguration) -> Void = { _ in }) async throws {
            let server = if let server { server } else { try await RedisServer() }
            self.server = server
            redis = server.client(name: "harness")
            var configuration = AnalyticsConfiguration()
            configuration.redis = server.endpoint
            configuration.httpPort = FreePort.next()
            // The pipeline's tests send events as scripts do, without a browser's user agent.
            configuration.botFilter = false
            // Every gateway of a test shares one secret, as a deployment's do.
            configuration.secret = Harness.secret
            adjust(&configuration)
            http = HTTPTestClient(port: configuration.httpPort)
            var logger = Logger(label: "gateway-test")
            logger.logLevel = .warning
            let app = try GatewayApplication(configuration: configuration, logger: logger)
            let group = ServiceGroup(configuration: .init(services: app.services.map { .init(service: $0) }, logger: logger))
            self.group = group
            task = Task { try await group.run() }
            let http = self.http
            guard await eventually(timeout: .seconds(10), { (try? await http.get("/healthz"))?.status == 200 }) else {
                throw TestSupportError("gateway did not start")
            }
        }

        func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            await redis.shutdown()
        }

        func streamLength() async throws -> Int {
            try await redis.send("XLEN", keyspace.stream).int ?? -1
        }

        func entries() async throws -> [AnalyticsEvent] {
            try RedisStreamEntry.list(from: try await redis.send("XRANGE", keyspace.stream, "-", "+")).map {
                try StreamEntryCodec.decode($0.fields ?? [])
            }
        }
    }

    @Test func anAcceptedEventIsOnTheStreamWhenAnswered() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let answer = try await h.http.post(
            "/api/analytics/event",
            body: #"{"event_type":"cv_theme_view","event_data":{"theme":"backend", "n": [1, 2]},"referrer":"https://ref.test/"}"#,
            headers: [("Referer", "https://site.test/cv"), ("User-Agent", "tests")])
        #expect(answer.status == 201)
        #expect(answer.json["success"] as? Bool == true)
        #expect(answer.json["message"] as? String == "Event tracked")
        let id = try #require(answer.json["id"] as? String)
        let events = try await h.entries()
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.id.lowercasedString == id)
        #expect(event.id.version7Milliseconds != nil)
        #expect(event.eventType == "cv_theme_view")
        #expect(event.eventData == #"{"theme":"backend", "n": [1, 2]}"#)
        #expect(event.pageURL == "https://site.test/cv")
        #expect(event.referrer == "https://ref.test/")
        #expect(abs(event.createdAt - EpochClock.milliseconds()) < 5_000)
        // The visitor gets a first-party cookie holding the id the event carries.
        let cookie = try #require(answer.header("Set-Cookie"))
        #expect(cookie.hasPrefix("analytics_vid=\(event.visitorID.lowercasedString)."))
        #expect(cookie.contains("HttpOnly"))
    }

    @Test func everyRejectionIsA4xxJSONAndLeavesNothing() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let bad: [(String, Int, String)] = [
            ("not json", 400, "body"),
            (#"["array"]"#, 400, "body"),
            (#"{"event_data":{}}"#, 400, "event_type"),
            (#"{"event_type":"Has Space"}"#, 400, "event_type"),
            (#"{"event_type":"x","event_data":[1]}"#, 400, "event_data"),
            (#"{"event_type":"x","event_data":{"a":{"b":{"c":{"d":1}}}}}"#, 400, "event_data"),
            (#"{"event_type":"cv_theme_view","event_data":{}}"#, 400, "event_data.theme"),
            (#"{"event_type":"letter_generated","event_data":{"type":"other"}}"#, 400, "event_data.type"),
            (#"{"event_type":"x","page_url":"\#(String(repeating: "u", count: 2049))"}"#, 400, "page_url"),
            (#"{"event_type":"x","referrer":42}"#, 400, "referrer"),
            (#"{"event_type":"x","event_data":{"k":"\#(String(repeating: "v", count: 17_000))"}}"#, 413, "body"),
        ]
        for (body, status, rule) in bad {
            let answer = try await h.http.post("/api/analytics/event", body: body)
            #expect(answer.status == status, "\(body.prefix(60))")
            let error = answer.json["error"] as? String ?? ""
            #expect(error.hasPrefix(rule), "\(error) should name \(rule)")
            #expect(answer.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(answer.header("Set-Cookie") == nil)
        }
        #expect(try await h.streamLength() <= 0)
    }

    @Test func aClientOverTheRateLimitGets429WithRetryAfter() async throws {
        let h = try await Harness { $0.rateLimitPerMinute = 5 }
        defer { Task { await h.stop() } }
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<7 {
            let answer = try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#)
            statuses.append(answer.status)
            if answer.status == 429 { retryAfter = answer.header("Retry-After") }
        }
        #expect(statuses == [201, 201, 201, 201, 201, 429, 429])
        let seconds = try #require(Int(retryAfter ?? ""))
        #expect(seconds >= 1 && seconds <= 60)
        #expect(try await h.streamLength() == 5)
    }

    @Test func visitorsKeepTheirCookieAndGetAStableCookielessID() async throws {
        let h = try await Harness()
        let other = try await Harness(server: h.server)
        defer {
            Task {
                await h.stop()
                await other.stop()
            }
        }
        let known = UUID()
        let signed = VisitorCookie(secret: ServerSecret(Harness.secret)).value(for: known)
        let withCookie = try await h.http.post(
            "/api/analytics/event", body: #"{"event_type":"click"}"#, headers: [("Cookie", "a=b; analytics_vid=\(signed)")])
        #expect(withCookie.status == 201)
        #expect(withCookie.header("Set-Cookie") == nil)
        // Without a cookie: the same client gets the same id, from either gateway instance.
        let ua = [("User-Agent", "Browser/1.0")]
        _ = try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#, headers: ua)
        _ = try await other.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#, headers: ua)
        _ = try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#, headers: [("User-Agent", "Other/2.0")])
        // A malformed cookie is ignored.
        _ = try await h.http.post(
            "/api/analytics/event", body: #"{"event_type":"click"}"#, headers: ua + [("Cookie", "analytics_vid=nope")])
        let ids = try await h.entries().map(\.visitorID)
        #expect(ids.count == 5)
        #expect(ids[0] == known)
        #expect(ids[1] == ids[2])
        #expect(ids[1] != ids[3])
        #expect(ids[4] == ids[1])
        // The salt is shared in Redis and is deleted a quarter of an hour after its day ends.
        let now = EpochClock.milliseconds()
        let day = TimeBucket(epochMilliseconds: now).dayName
        let expiry = try #require(try await h.redis.send("EXPIRETIME", h.keyspace.visitorSalt(day: day)).int)
        let endOfDay = (now / 86_400_000 + 1) * 86_400
        #expect(expiry == endOfDay + 900)
    }

    @Test func cookiesOffSetsNoCookie() async throws {
        let h = try await Harness { $0.cookies = false }
        defer { Task { await h.stop() } }
        let answer = try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#)
        #expect(answer.status == 201)
        #expect(answer.header("Set-Cookie") == nil)
        let page = try await h.http.get("/demo")
        #expect(page.header("Set-Cookie") == nil)
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() async throws {
        let untrusted = try await Harness()
        let trusted = try await Harness(server: untrusted.server) { $0.trustedProxies = [IPNetwork("127.0.0.0/8")!] }
        defer {
            Task {
                await untrusted.stop()
                await trusted.stop()
            }
        }
        let headers = { (xff: String) in [("User-Agent", "same"), ("X-Forwarded-For", xff)] }
        for xff in ["203.0.113.7", "198.51.100.9"] {
            _ = try await untrusted.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#, headers: headers(xff))
        }
        for xff in ["203.0.113.7", "198.51.100.9", "1.1.1.1, 203.0.113.7"] {
            _ = try await trusted.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#, headers: headers(xff))
        }
        let ids = try await untrusted.entries().map(\.visitorID)
        // Untrusted: the header is ignored, both requests are the same client.
        #expect(ids[0] == ids[1])
        // Trusted: two different clients, and a spoofed left part of the header changes nothing.
        #expect(ids[2] != ids[3])
        #expect(ids[4] == ids[2])
        #expect(ids[2] != ids[0])
    }

    @Test func onlyHTMLPagesArePageviews() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let page = try await h.http.get(
            "/demo?utm_source=x&token=secret", headers: [("User-Agent", "UA \"quoted\""), ("Referer", "https://ref.test/")])
        #expect(page.status == 200)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.header("Set-Cookie")?.hasPrefix("analytics_vid=") == true)
        for path in [
            "/", "/embed/live", "/api/docs", "/api/analytics/realtime", "/metrics", "/healthz", "/readyz", "/missing.css", "/nowhere",
        ] {
            _ = try await h.http.get(path)
        }
        #expect(await eventually { (try? await h.streamLength()) == 1 })
        try await Task.sleep(for: .milliseconds(200))
        let events = try await h.entries()
        #expect(events.count == 1)
        let pageview = try #require(events.first)
        #expect(pageview.eventType == "pageview")
        // Only the campaign tags of the query are kept.
        #expect(pageview.pageURL == "/demo?utm_source=x")
        #expect(pageview.referrer == "https://ref.test/")
        let data = try JSONSerialization.jsonObject(with: Data(pageview.eventData.utf8)) as? [String: String]
        // The user agent is not kept: only what it says.
        #expect(data == ["path": "/demo", "method": "GET"])
        #expect(pageview.dimensions.path == "/demo")
        #expect(pageview.dimensions.utmSource == "x")
        #expect(pageview.dimensions.referrerSource == "ref.test")
        #expect(pageview.dimensions.device == "desktop")
    }

    @Test func theReadRoutesAnswerWhatRedisHolds() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let now = EpochClock.milliseconds()
        let bucket = TimeBucket(epochMilliseconds: now)
        let k = h.keyspace
        _ = try await h.redis.pipeline([
            RedisCommand("SET", k.totalEvents(.day, bucket.dayName), "12"),
            RedisCommand("SET", k.totalEvents(.week, bucket.weekName), "34"),
            RedisCommand("SET", k.lettersGenerated(.month, bucket.monthName), "5"),
            RedisCommand("PFADD", k.uniqueVisitors(.day, bucket.dayName), "a", "b", "c"),
            RedisCommand("ZADD", k.activeVisitors, String(now), "a", String(now - 1000), "b", String(now - 301_000), "gone"),
            RedisCommand(["ZADD", k.topThemes] + (1...25).flatMap { [String($0), "t\($0)"] }),
        ])
        let realtime = try await h.http.get("/api/analytics/realtime")
        #expect(realtime.status == 200)
        #expect(realtime.json["success"] as? Bool == true)
        #expect(realtime.data["current_visitors"] as? Int == 2)
        #expect(realtime.data["unique_today"] as? Int == 3)
        #expect(abs((realtime.data["timestamp"] as? Int ?? 0) - Int(now / 1000)) <= 2)

        let day = try await h.http.get("/api/analytics/stats?period=day")
        #expect(day.data["period"] as? String == "day")
        #expect(day.data["total_events"] as? Int == 12)
        #expect(day.data["unique_visitors"] as? Int == 3)
        #expect(day.data["letters_generated"] as? Int == 0)
        #expect(try await h.http.get("/api/analytics/stats").data["period"] as? String == "day")
        #expect(try await h.http.get("/api/analytics/stats?period=week").data["total_events"] as? Int == 34)
        let month = try await h.http.get("/api/analytics/letters?period=month")
        #expect(month.data["letters_generated"] as? Int == 5)
        #expect(month.data["period"] as? String == "month")
        for path in ["/api/analytics/stats?period=year", "/api/analytics/letters?period=", "/api/analytics/letters?period=DAY"] {
            let answer = try await h.http.get(path)
            #expect(answer.status == 400, "\(path)")
            #expect((answer.json["error"] as? String)?.contains("period") == true)
        }

        func themes(_ query: String) async throws -> [(String, Int)] {
            let answer = try await h.http.get("/api/analytics/themes\(query)")
            let list = answer.json["data"] as? [[String: Any]] ?? []
            return list.map { ($0["theme"] as? String ?? "", $0["views"] as? Int ?? -1) }
        }
        #expect(try await themes("").map(\.0) == ["t25", "t24", "t23", "t22", "t21"])
        #expect(try await themes("?limit=2").map(\.1) == [25, 24])
        #expect(try await themes("?limit=20").count == 20)
        for bad in ["21", "0", "abc", "true", "2.5"] {
            let answer = try await h.http.get("/api/analytics/themes?limit=\(bad)")
            #expect(answer.status == 400)
            #expect((answer.json["error"] as? String)?.hasPrefix("limit:") == true)
        }
    }

    @Test func readinessNeedsRedisAndLiveConsumers() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let notReady = try await h.http.get("/readyz")
        #expect(notReady.status == 503)
        #expect(notReady.body.contains("aggregator"))
        try await h.redis.send("SET", h.keyspace.consumerAlive(group: .aggregator), "c", "PX", "10000")
        let noArchiver = try await h.http.get("/readyz")
        #expect(noArchiver.status == 503)
        #expect(noArchiver.body.contains("archiver"))
        try await h.redis.send("SET", h.keyspace.consumerAlive(group: .archiver), "c", "PX", "10000")
        #expect(try await h.http.get("/readyz").status == 200)
        #expect(try await h.http.get("/healthz").status == 200)
    }

    @Test func metricsPassPromtoolAndCountRequests() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        _ = try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#)
        _ = try await h.http.post("/api/analytics/event", body: #"{"event_type":"BAD"}"#)
        _ = try await h.http.get("/api/analytics/stats?period=day")
        let metrics = try await h.http.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
        let check = try promtoolCheck(metrics.body)
        #expect(check.status == 0, "\(check.output)")
        #expect(
            metrics.body.contains(#"maicivy_analytics_request_duration_seconds_count{endpoint="/api/analytics/event",method="POST"} 2"#))
        #expect(metrics.body.contains(#"maicivy_analytics_request_duration_seconds_count{endpoint="/api/analytics/stats",method="GET"} 1"#))
        #expect(metrics.body.contains(#"analytics_gateway_events_accepted_total{source="api"} 1"#))
        #expect(metrics.body.contains(#"analytics_gateway_events_rejected_total{rule="event_type.format"} 1"#))
        #expect(metrics.body.contains("# HELP maicivy_analytics_request_duration_seconds"))
    }

    @Test func redisDownMeans503WithinASecondThenRecovery() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        #expect(try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#).status == 201)
        await h.server.stop()
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let answer = try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#)
            #expect(answer.status == 503)
            #expect(answer.header("Retry-After") == "1")
            #expect(ContinuousClock.now - start < .seconds(1))
            let stats = try await h.http.get("/api/analytics/stats")
            #expect(stats.status == 503)
        }
        try await h.server.start()
        #expect(await eventually { (try? await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#))?.status == 201 })
    }

    /// Event POSTs are answered outside Hummingbird's router; a pipelining client must still get
    /// every answer in the order of its requests.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let connection = try TCPTestConnection(port: h.http.port)
        let event = #"{"event_type":"click","page_url":"https://site.test/a"}"#
        let chunked = "\(String(event.utf8.count, radix: 16))\r\n\(event)\r\n0\r\n\r\n"
        let requests: [String] = [
            "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
            "POST /api/analytics/event HTTP/1.1\r\nHost: t\r\nContent-Length: \(event.utf8.count)\r\n\r\n\(event)",
            "GET /api/analytics/letters HTTP/1.1\r\nHost: t\r\n\r\n",
            "POST /api/analytics/event?via=chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\(chunked)",
            "POST /api/analytics/event HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\nnotjson",
            "GET /nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ]
        try connection.send(requests.joined())
        let received = try #require(await connection.readUntilClosed())
        #expect(TCPTestConnection.statuses(in: received) == [200, 201, 200, 201, 400, 404])
        // The answers' ids are the stream's, in the same order.
        let answered = received.matches(of: /"id":"([0-9a-f-]{36})"/).map { String($0.1) }
        #expect(try await h.entries().map(\.id.lowercasedString) == answered)
        #expect(answered.count == 2)
    }

    @Test func connectionCloseEndsTheConnectionAfterTheEventsAnswer() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let connection = try TCPTestConnection(port: h.http.port)
        let event = #"{"event_type":"click"}"#
        try connection.send(
            "POST /api/analytics/event HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: \(event.utf8.count)\r\n\r\n\(event)")
        let received = try #require(await connection.readUntilClosed(), "the gateway should close the connection")
        #expect(TCPTestConnection.statuses(in: received) == [201])
        #expect(received.contains("\r\nConnection: close\r\n"))
        #expect(received.contains("\r\nDate: "))
        #expect(try await h.streamLength() == 1)
    }

    /// A client may end its side of the connection once its request is sent: the answer still
    /// comes (Hummingbird's connection handling must not see the end of input before it).
    @Test func aClientThatHalfClosesStillGetsItsAnswer() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let connection = try TCPTestConnection(port: h.http.port)
        let event = #"{"event_type":"click"}"#
        try connection.send("POST /api/analytics/event HTTP/1.1\r\nHost: t\r\nContent-Length: \(event.utf8.count)\r\n\r\n\(event)")
        connection.shutdownWrite()
        let received = try #require(await connection.readUntilClosed(), "the gateway should close the connection")
        #expect(TCPTestConnection.statuses(in: received) == [201])
        #expect(try await h.streamLength() == 1)
    }

    /// A shutting-down gateway still answers the event it is publishing before it closes the
    /// connection: the client learns that its event was taken.
    @Test func shutdownWaitsForTheEventBeingPublished() async throws {
        let h = try await Harness()
        // A first event, so the day's salt is known and the second goes straight to the stream.
        #expect(try await h.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#).status == 201)
        let connection = try TCPTestConnection(port: h.http.port)
        // Writes wait in Redis for half a second (the gateway gives Redis 0.8 s).
        _ = try await h.redis.send("CLIENT", "PAUSE", "500", "WRITE")
        let event = #"{"event_type":"click"}"#
        try connection.send(
            "POST /api/analytics/event HTTP/1.1\r\nHost: t\r\nContent-Length: \(event.utf8.count)\r\n\r\n\(event)")
        // Shut down once the XADD is held in Redis: the event is in flight.
        let blocked = await eventually(timeout: .milliseconds(450)) {
            let info = (try? await h.redis.send("INFO", "clients"))?.string ?? ""
            return info.contains("blocked_clients:1")
        }
        #expect(blocked, "the event's XADD should be waiting in Redis")
        let stopped = Task { await h.stop() }
        let received = try #require(await connection.readUntilClosed(), "the gateway should close the connection once idle")
        #expect(TCPTestConnection.statuses(in: received) == [201])
        await stopped.value
        let check = h.server.client(name: "check")
        #expect(try await check.send("XLEN", h.keyspace.stream).int == 2)
        await check.shutdown()
    }
}
