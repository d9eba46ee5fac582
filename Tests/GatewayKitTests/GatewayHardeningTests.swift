import AnalyticsCore
import Foundation
import GatewayKit
import RedisClient
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The gateway as browsers on the internet reach it: limits shared by every gateway, ids that
/// cannot be minted, a bounded stream, idempotent retries, and connections that cannot hold it.
/// Real gateways over real HTTP against a real Redis.
@Suite("Gateway hardening against a real Redis", .serialized)
struct GatewayHardeningTests {
    typealias Harness = GatewayIntegrationTests.Harness

    static func post(_ h: Harness, _ body: String = #"{"event_type":"click"}"#, headers: [(String, String)] = []) async throws
        -> HTTPTestClient.Answer
    {
        try await h.http.post("/api/analytics/event", body: body, headers: headers)
    }

    @Test func twoGatewaysShareOneClientsBudgetAsOneGatewayWould() async throws {
        let h = try await Harness { $0.rateLimitPerMinute = 10 }
        let other = try await Harness(server: h.server) { $0.rateLimitPerMinute = 10 }
        defer {
            Task {
                await h.stop()
                await other.stop()
            }
        }
        var statuses: [Int] = []
        for i in 0..<16 {
            statuses.append(try await Self.post(i.isMultiple(of: 2) ? h : other).status)
        }
        // Each gateway alone would have let 16 through (8 each, under its own 10).
        #expect(statuses.filter { $0 == 201 }.count == 10)
        #expect(statuses.filter { $0 == 429 }.count == 6)
        #expect(try await h.streamLength() == 10)
        let refused = try await Self.post(other)
        #expect(refused.header("Retry-After").flatMap(Int.init).map { $0 >= 1 && $0 <= 60 } == true)
        // Redis holds a keyed hash of the address, never the address.
        let keys = try await h.redis.send("KEYS", "\(h.keyspace.rateLimit(client: "*"))").array?.compactMap(\.string) ?? []
        #expect(keys.count == 1)
        #expect(keys.allSatisfy { !$0.contains("127.0.0.1") && !$0.contains("7f000001") })
    }

    @Test func aForgedOrUnsignedCookieIsNotBelievedAndAGenuineOneIs() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let minted = UUID()
        let forged = try await Self.post(h, headers: [("Cookie", "analytics_vid=\(minted.lowercasedString)")])
        #expect(forged.status == 201)
        // The visitor is given a signed cookie of its own instead.
        let given = try #require(forged.header("Set-Cookie"))
        let genuine = try #require(given.split(separator: ";").first.map { String($0.dropFirst("analytics_vid=".count)) })
        let again = try await Self.post(h, headers: [("Cookie", "analytics_vid=\(genuine)")])
        #expect(again.header("Set-Cookie") == nil)
        let ids = try await h.entries().map(\.visitorID)
        #expect(ids.count == 2)
        #expect(ids[0] != minted)
        #expect(ids[1] == ids[0])
        #expect(ids[1].lowercasedString == String(genuine.prefix(36)))
    }

    @Test func theCookieIsSecureWhenATrustedProxySaysTheClientCameOverHTTPS() async throws {
        let h = try await Harness { $0.trustedProxies = [IPNetwork("127.0.0.1/32")!] }
        defer { Task { await h.stop() } }
        let secure = try await Self.post(h, headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "198.51.100.7")])
        #expect(secure.header("Set-Cookie")?.hasSuffix("; Secure") == true)
        let plain = try await Self.post(h, headers: [("X-Forwarded-Proto", "http"), ("X-Forwarded-For", "198.51.100.8")])
        #expect(plain.header("Set-Cookie")?.contains("Secure") == false)
        let untrusted = try await Harness(server: h.server)
        defer { Task { await untrusted.stop() } }
        // Said by the client itself, not by a trusted proxy: not believed.
        let claimed = try await Self.post(untrusted, headers: [("X-Forwarded-Proto", "https")])
        #expect(claimed.header("Set-Cookie")?.contains("Secure") == false)
    }

    @Test func pastTheStreamsCeilingEventsGet503WithRetryAfterAndNothingIsTrimmed() async throws {
        let h = try await Harness { $0.streamMaxEvents = 5 }
        defer { Task { await h.stop() } }
        for _ in 0..<5 { #expect(try await Self.post(h).status == 201) }
        let refused = try await Self.post(h, headers: [("Origin", "https://site.test")])
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "30")
        // A page on another origin may read it (the tracker waits that long before sending again).
        #expect(refused.header("Access-Control-Expose-Headers") == "Retry-After")
        #expect((refused.json["error"] as? String)?.contains("retry later") == true)
        #expect(try await h.streamLength() == 5)
        // Server-side pageviews are held to the same ceiling.
        _ = try await h.http.get("/demo")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await h.streamLength() == 5)
        let metrics = try await h.http.get("/metrics").body
        #expect(metrics.contains(#"analytics_gateway_ingest_refused_total{reason="stream_full"} 2"#))
        // Once the archiver has taken entries and trimmed them, events are accepted again.
        _ = try await h.redis.send("XTRIM", h.keyspace.stream, "MAXLEN", "0")
        #expect(try await Self.post(h).status == 201)
    }

    @Test func anEventSentAgainWithItsIdIsAnsweredAndStoredOnce() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
        let body = #"{"event_type":"click","id":"\#(id)"}"#
        let first = try await Self.post(h, body)
        #expect(first.status == 201)
        #expect(first.json["id"] as? String == id)
        // Twenty retries at once, as a client whose answers were lost might send them.
        let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let answer = try await Self.post(h, body)
                    return (answer.status, answer.json["id"] as? String)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0.0 == 201 && $0.1 == id })
        let entries = try await h.entries()
        #expect(entries.count == 1)
        #expect(entries.first?.id.lowercasedString == id)
        // The event's time is the server's, whatever the id's timestamp says.
        #expect(abs((entries.first?.createdAt ?? 0) - EpochClock.milliseconds()) < 10_000)
        let metrics = try await h.http.get("/metrics").body
        #expect(metrics.contains("analytics_gateway_events_repeated_total 20"))
        // Another id is another event; an id that is not a UUID is refused.
        #expect(try await Self.post(h, #"{"event_type":"click","id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"}"#).status == 201)
        let bad = try await Self.post(h, #"{"event_type":"click","id":"not-a-uuid"}"#)
        #expect(bad.status == 400)
        #expect((bad.json["error"] as? String)?.hasPrefix("id:") == true)
        #expect(try await h.streamLength() == 2)
    }

    @Test func queryStringsAreStoredWithoutTheirParametersButCampaignTagsAndAllowedOnes() async throws {
        let h = try await Harness { $0.keepQueryParameters = ["page"] }
        defer { Task { await h.stop() } }
        let body = #"""
            {"event_type":"click","page_url":"https://site.test/a?token=s3cr3t&utm_source=news&page=2#top","referrer":"https://search.test/?q=my+name&utm_medium=mail"}
            """#
        #expect(try await Self.post(h, body).status == 201)
        let event = try #require(try await h.entries().first)
        #expect(event.pageURL == "https://site.test/a?utm_source=news&page=2#top")
        #expect(event.referrer == "https://search.test/?utm_medium=mail")
    }

    @Test func stalledHalfOpenConnectionsDoNotStopTheGatewayAndAreClosedAfterTheTimeout() async throws {
        raiseOpenFileLimit()
        let h = try await Harness {
            $0.headerTimeoutSeconds = 2
            $0.maxConnectionsPerAddress = 5000
        }
        defer { Task { await h.stop() } }
        let port = h.http.port
        // 2,000 clients that send half a header and stall.
        var stalled: [TCPTestConnection] = []
        for _ in 0..<2000 {
            // A generous wait: the suite shares two cores with browsers and schemathesis; the header
            // timeout itself is 2 s.
            let connection = try TCPTestConnection(port: port, receiveTimeout: .seconds(45))
            try connection.send("POST /api/analytics/event HTTP/1.1\r\nHost: gateway\r\nContent-Ty")
            stalled.append(connection)
        }
        // Others are served meanwhile.
        let start = ContinuousClock.now
        #expect(try await Self.post(h).status == 201)
        #expect(ContinuousClock.now - start < .seconds(5))
        // Every stalled connection is closed by the gateway, within the timeout and some slack.
        let closed = await withTaskGroup(of: Bool.self) { group in
            for connection in stalled.prefix(200) { group.addTask { await connection.readUntilClosed() != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(closed == 200)
        // The rest too (those the kernel queued before the gateway accepted them start later).
        #expect(await eventually(timeout: .seconds(20)) { stalled.allSatisfy { $0.isClosedByPeer() } })
        #expect(stalled.filter { !$0.isClosedByPeer() }.count == 0)
        #expect(try await h.streamLength() == 1)
    }

    @Test func aBodyThatStallsIsCutOffAndNothingIsKept() async throws {
        let h = try await Harness { $0.bodyTimeoutSeconds = 1 }
        defer { Task { await h.stop() } }
        let connection = try TCPTestConnection(port: h.http.port)
        // A client declaring the largest body allowed and sending a few bytes of it.
        try connection.send("POST /api/analytics/event HTTP/1.1\r\nHost: g\r\nContent-Length: 16384\r\n\r\n{\"event_type\":")
        let start = ContinuousClock.now
        #expect(await connection.readUntilClosed() != nil)
        // Closed, not held: 1 s of timeout, with room for a test machine whose event loops are busy
        // with the other tests (the receive timeout, 15 s, is what "held" would look like).
        #expect(ContinuousClock.now - start < .seconds(12))
        #expect(try await h.streamLength() == 0)
    }

    @Test func anAddressOverItsConnectionCapGets429AndOthersAreServed() async throws {
        let h = try await Harness { $0.maxConnectionsPerAddress = 3 }
        defer { Task { await h.stop() } }
        // Five connections at once from one address (not 127.0.0.1, where the harness's HTTP client
        // keeps connections of its own): three are served, the others are answered 429 and closed.
        let client = "127.0.0.2"
        let connections = try (0..<5).map { _ in try TCPTestConnection(port: h.http.port, from: client) }
        var statuses: [Int] = []
        for connection in connections {
            try connection.send("GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n")
            statuses += TCPTestConnection.statuses(in: await connection.receiveSome() ?? "")
        }
        #expect(statuses.sorted() == [200, 200, 200, 429, 429])
        let held = zip(connections, statuses).filter { $0.1 == 200 }.map(\.0)
        let refused = zip(connections, statuses).filter { $0.1 == 429 }.map(\.0)
        #expect(await refused.first?.readUntilClosed()?.isEmpty == true)
        // Other addresses are served meanwhile.
        #expect(try await Self.post(h).status == 201)
        // Once one of them leaves, the address may connect again.
        held.first?.disconnect()
        #expect(
            await eventually {
                guard let again = try? TCPTestConnection(port: h.http.port, from: client),
                    (try? again.send("GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n")) != nil
                else { return false }
                return TCPTestConnection.statuses(in: await again.receiveSome() ?? "") == [200]
            })
    }

    /// Up to the hard limit: 2,000 test connections and the gateway's own need more than a
    /// default 1,024 descriptors.
    private func raiseOpenFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
