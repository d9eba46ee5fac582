import AnalyticsCore
import Foundation
import NIOCore
import RedisClient
import TestSupport
import Testing
import WSHubKit

#if canImport(Glibc)
import Glibc
#endif

/// Real hub processes against a real Redis, with real WebSocket clients.
@Suite("WSHub with real Redis and WebSocket clients")
struct HubIntegrationTests {
    /// Redis, and hubs started on demand; the realtime channel is fed as the aggregator would.
    final class Harness: Sendable {
        let redis: RedisServer
        let client: RedisClient
        let keyspace = RedisKeyspace()
        let hubs = Locked<[(process: ServiceProcess, port: Int)]>([])

        init() async throws {
            redis = try await RedisServer()
            client = redis.client(name: "hub-test")
        }

        @discardableResult
        func startHub(_ environment: [String: String] = [:]) async throws -> Int {
            let port = FreePort.next()
            let process = try ServiceProcess(
                .wshub,
                environment: ["ANALYTICS_REDIS_URL": redis.url, "ANALYTICS_WS_PORT": String(port), "ANALYTICS_LOG_LEVEL": "info"]
                    .merging(environment) { $1 },
                directory: redis.directory.url)
            hubs.withLock { $0.append((process, port)) }
            let http = HTTPTestClient(port: port)
            guard await eventually(timeout: .seconds(15), { (try? await http.get("/healthz"))?.status == 200 }) else {
                throw TestSupportError("hub did not start: \(process.output)")
            }
            // Subscribed (the gauge) before anything is published.
            _ = await eventually { (try? await http.get("/metrics"))?.body.contains("analytics_wshub_redis_subscribed 1") == true }
            return port
        }

        func url(_ port: Int) -> String { "ws://127.0.0.1:\(port)/ws/analytics" }

        /// Publishes an update as the aggregator does after a batch.
        func publish(events: [(type: String, ms: Int64)], extra: String = "") async throws {
            let list = events.map { #"{"event_type":"\#($0.type)","timestamp":\#($0.ms)\#(extra)}"# }.joined(separator: ",")
            let message = #"{"type":"batch","events":[\#(list)],"stats":{"current_visitors":7,"unique_today":9,"timestamp":1}}"#
            try await client.send("PUBLISH", keyspace.realtimeChannel, message)
        }

        func metrics(_ port: Int) async throws -> String { try await HTTPTestClient(port: port).get("/metrics").body }

        func shutdown() async {
            for hub in hubs.value { await hub.process.stop() }
            await client.shutdown()
        }
    }

    @Test func initialStatsOnConnectRefreshAndHeartbeat() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        try await h.client.send("ZADD", h.keyspace.activeVisitors, String(EpochClock.milliseconds()), "v1")
        let port = try await h.startHub()
        let ws = WebSocketTestClient(url: h.url(port))
        #expect(await eventually { ws.messages(ofType: "initial_stats").count == 1 })
        let first = try #require(ws.messages.first)
        #expect(first.type == "initial_stats")
        #expect(first.text.contains(#""current_visitors":1"#))
        ws.send(#"{"type":"refresh_stats"}"#)
        #expect(await eventually { ws.messages(ofType: "initial_stats").count == 2 })
        ws.send("not json")
        ws.send(#"{"type":"something else"}"#)
        #expect(await eventually(timeout: .seconds(8)) { ws.messages(ofType: "heartbeat").count >= 1 })
        #expect(ws.messages(ofType: "initial_stats").count == 2)
        let check = try promtoolCheck(try await h.metrics(port))
        #expect(check.status == 0, "\(check.output)")
    }

    @Test func eventsReachTheClientsOfEveryReplicaCoalescedAndPublicOnly() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let a = try await h.startHub()
        let b = try await h.startHub()
        // One dashboard of each replica negotiates permessage-deflate: it gets the same messages.
        let clients = [
            WebSocketTestClient(url: h.url(a)), WebSocketTestClient(url: h.url(a), deflate: true),
            WebSocketTestClient(url: h.url(b)), WebSocketTestClient(url: h.url(b), deflate: true),
        ]
        #expect(await eventually { clients.allSatisfy { !$0.messages(ofType: "initial_stats").isEmpty } })
        // 60 batches of 5 events within about a second: all 300 events arrive, in far fewer messages.
        let start = EpochClock.milliseconds()
        for i in 0..<60 {
            try await h.publish(events: (0..<5).map { ("click", start + Int64(i * 5 + $0)) }, extra: #","page":"/p""#)
            try await Task.sleep(for: .milliseconds(15))
        }
        let eventsOf = { (client: WebSocketTestClient) -> Int in
            client.messages.reduce(0) { total, message in
                switch message.type {
                case "event": total + 1
                case "events": total + message.text.components(separatedBy: #""event_type""#).count - 1
                default: total
                }
            }
        }
        #expect(await eventually { clients.allSatisfy { eventsOf($0) == 300 } })
        for client in clients {
            let eventMessages = client.messages.filter { $0.type == "event" || $0.type == "events" }
            #expect(eventMessages.count < 30, "300 events in \(eventMessages.count) messages")
            // At most 10 messages in any second.
            for message in eventMessages {
                let window = client.messages.filter { $0.at >= message.at && $0.at < message.at + .seconds(1) }
                #expect(window.count <= 10)
            }
        }
        // A message carrying private fields (not from our aggregator) never reaches a client.
        try await h.publish(events: [("leak", start)], extra: #","visitor_id":"secret-visitor""#)
        try await h.publish(events: [("done", start)])
        #expect(await eventually { clients.allSatisfy { $0.messages.contains { $0.text.contains(#""done""#) } } })
        for client in clients {
            #expect(
                !client.messages.contains {
                    $0.text.contains("secret-visitor") || $0.text.contains("visitor_id") || $0.text.contains("event_data")
                })
        }
    }

    /// Served in turn (cohorts tuned down to one client per loop each): every client still gets
    /// every event exactly once and in order, at most 10 messages a second, and heartbeats; and the
    /// cohorts really are served at different moments (their messages split the events differently).
    @Test func clientsServedInTurnGetEveryEventOnceInOrder() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub(["ANALYTICS_WS_COHORT_CLIENTS": "1"])
        let clients = (0..<16).map { WebSocketTestClient(url: h.url(port), deflate: $0 % 2 == 0) }
        #expect(await eventually { clients.allSatisfy { !$0.messages(ofType: "initial_stats").isEmpty } })
        let start = EpochClock.milliseconds()
        for batch in 0..<60 {
            try await h.publish(events: (0..<5).map { ("click", start + Int64(batch * 5 + $0)) })
            try await Task.sleep(for: .milliseconds(15))
        }
        /// Each event message's events, as their numbers (timestamp − start).
        func eventRuns(_ client: WebSocketTestClient) -> [[Int64]] {
            client.messages.compactMap { message -> [Int64]? in
                guard let object = (try? JSONSerialization.jsonObject(with: Data(message.text.utf8))) as? [String: Any] else { return nil }
                let events: [[String: Any]]
                switch object["type"] as? String {
                case "event": events = [object["data"] as? [String: Any] ?? [:]]
                case "events": events = object["data"] as? [[String: Any]] ?? []
                default: return nil
                }
                return events.map { (($0["timestamp"] as? NSNumber)?.int64Value ?? -1) - start }
            }
        }
        #expect(await eventually { clients.allSatisfy { eventRuns($0).joined().count >= 300 } })
        for client in clients {
            #expect(Array(eventRuns(client).joined()) == Array(0..<300))
            // At most 10 messages in any second that starts with an event message.
            let messages = client.messages
            for message in messages where message.type == "event" || message.type == "events" {
                #expect(messages.filter { $0.at >= message.at && $0.at < message.at + .seconds(1) }.count <= 10)
            }
        }
        #expect(Set(clients.map { eventRuns($0).map(\.count) }).count > 1, "every client's messages split the events the same way")
        #expect(await eventually(timeout: .seconds(8)) { clients.allSatisfy { !$0.messages(ofType: "heartbeat").isEmpty } })
    }

    @Test func aDeflatingDashboardGetsCompressedMessagesAndIsUnderstoodWhenItCompresses() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub()
        // On the wire: the offer is accepted without context takeover, and a large message comes
        // compressed (RSV1) and inflates to the JSON every other client gets.
        let peer = try SilentWebSocketPeer(port: port, extensions: "permessage-deflate; client_max_window_bits", receiveBuffer: 1 << 20)
        #expect(peer.upgraded)
        #expect(
            peer.responseHead.lowercased().contains(
                "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"))
        let plain = WebSocketTestClient(url: h.url(port))
        #expect(await eventually { !plain.messages(ofType: "initial_stats").isEmpty })
        let start = EpochClock.milliseconds()
        try await h.publish(events: (0..<50).map { ("click", start + Int64($0)) }, extra: #","page":"/a/long/page/path""#)
        var compressed: [UInt8]?
        while compressed == nil, let frame = peer.readFrame() {
            if frame.opcode == 1, frame.compressed { compressed = frame.payload }
        }
        let payload = try #require(compressed)
        let text = try String(buffer: #require(MessageInflater().inflate(ByteBuffer(bytes: payload), maximumSize: 1 << 20)))
        #expect(await eventually { plain.messages(ofType: "events").contains { $0.text.contains("/a/long/page/path") } })
        let delivered = plain.messages(ofType: "events").first { $0.text.contains("/a/long/page/path") }?.text
        #expect(text == delivered)
        #expect(payload.count * 3 < (delivered?.utf8.count ?? 0), "compressed \(payload.count) bytes")

        // A browser compresses what it sends too: its refresh_stats is inflated and answered.
        let deflating = WebSocketTestClient(url: h.url(port), deflate: true)
        #expect(await eventually { deflating.messages(ofType: "initial_stats").count == 1 })
        deflating.send(#"{"type":"refresh_stats"}"#)
        #expect(await eventually { deflating.messages(ofType: "initial_stats").count == 2 })
    }

    @Test func aStalledClientIsDroppedWhileTheOthersKeepTheirPace() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub(["ANALYTICS_WS_CLIENT_QUEUE": "4"])
        let stalled = try SilentWebSocketPeer(port: port)
        #expect(stalled.upgraded)
        let healthy = WebSocketTestClient(url: h.url(port))
        #expect(await eventually { !healthy.messages(ofType: "initial_stats").isEmpty })
        // Large updates, so that the stalled peer's socket buffers fill quickly.
        let filler = String(repeating: "x", count: 200)
        var latencies: [Int64] = []
        for round in 0..<80 {
            let now = EpochClock.milliseconds()
            try await h.publish(events: (0..<300).map { _ in ("load", now) }, extra: #","page":"/\#(filler)""#)
            try await Task.sleep(for: .milliseconds(50))
            if round % 10 == 9 {
                if let last = healthy.messages.last(where: { $0.text.contains(#""load""#) }) {
                    latencies.append(last.epochMilliseconds - now)
                }
            }
        }
        #expect(
            await eventually(timeout: .seconds(15)) {
                (try? await h.metrics(port))?.contains(#"analytics_wshub_clients_dropped_total{reason="slow"} 1"#) == true
            })
        #expect(await eventually(timeout: .seconds(5)) { stalled.closedByServer })
        // The healthy client was not held back.
        #expect(!healthy.isClosed)
        let now = EpochClock.milliseconds()
        try await h.publish(events: [("after", now)])
        #expect(await eventually { healthy.messages.contains { $0.text.contains(#""after""#) } })
        let after = try #require(healthy.messages.last { $0.text.contains(#""after""#) })
        #expect(after.epochMilliseconds - now < 1000)
    }

    @Test func aSilentPeerIsClosedWithinTwoPingPeriods() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub(["ANALYTICS_WS_PING_SEC": "1"])
        let dead = try SilentWebSocketPeer(port: port, receiveBuffer: 1 << 20)
        #expect(dead.upgraded)
        #expect(await eventually { (try? await h.metrics(port))?.contains("analytics_wshub_clients 1") == true })
        let start = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(6)) { (try? await h.metrics(port))?.contains("analytics_wshub_clients 0") == true })
        #expect(ContinuousClock.now - start < .seconds(4))
    }

    @Test func theHubRecoversWhenRedisRestartsUnderTraffic() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub()
        let ws = WebSocketTestClient(url: h.url(port))
        #expect(await eventually { ws.messages(ofType: "initial_stats").count == 1 })
        try await h.publish(events: [("before", EpochClock.milliseconds())])
        #expect(await eventually { ws.messages.contains { $0.text.contains(#""before""#) } })
        await h.redis.stop()
        #expect(await eventually { (try? await h.metrics(port))?.contains("analytics_wshub_redis_subscribed 0") == true })
        try await h.redis.start()
        // Resubscribed: the clients get fresh figures, and events flow again.
        #expect(await eventually(timeout: .seconds(10)) { ws.messages(ofType: "initial_stats").count >= 2 })
        #expect(await eventually { (try? await h.metrics(port))?.contains("analytics_wshub_redis_subscribed 1") == true })
        _ = await eventually { (try? await h.client.send("PING")) != nil }
        try await h.publish(events: [("after", EpochClock.milliseconds())])
        #expect(await eventually { ws.messages.contains { $0.text.contains(#""after""#) } })
        #expect(!ws.isClosed)
    }

    @Test func originsAndTheConnectionCapAreEnforced() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub([
            "ANALYTICS_WS_ALLOWED_ORIGINS": "https://site.example, https://other.example", "ANALYTICS_WS_MAX_CONNECTIONS": "2",
        ])
        // An origin not on the list is refused at the handshake: 403, no upgrade.
        for origin in ["https://evil.example", "https://site.example.evil.test"] {
            let refused = try SilentWebSocketPeer(port: port, origin: origin, receiveBuffer: 1 << 16)
            #expect(!refused.upgraded)
            #expect(refused.responseHead.hasPrefix("HTTP/1.1 403"), "\(refused.responseHead)")
        }
        let allowed = try ["https://site.example", "https://OTHER.example"].map {
            try SilentWebSocketPeer(port: port, origin: $0, receiveBuffer: 1 << 16)
        }
        for peer in allowed {
            let first = try #require(peer.readFrame())
            #expect(first.opcode == 1)
            #expect(String(decoding: first.payload, as: UTF8.self).hasPrefix(#"{"type":"initial_stats""#))
        }
        // Over the cap: 1013, try again later.
        let third = try SilentWebSocketPeer(port: port, origin: "https://site.example", receiveBuffer: 1 << 16)
        #expect(third.closeCode() == 1013)
        // A client without an Origin (not a browser: a server, a monitoring probe) is not a
        // cross-origin request; the list does not apply to it (here it meets the cap instead).
        let noOrigin = try SilentWebSocketPeer(port: port, origin: nil, receiveBuffer: 1 << 16)
        #expect(noOrigin.upgraded)
        #expect(noOrigin.closeCode() == 1013)
        // A plain GET (no upgrade) is told why it would be refused.
        let full = try await HTTPTestClient(port: port).get("/ws/analytics", headers: [("Origin", "https://site.example")])
        #expect(full.status == 503)
        let forbidden = try await HTTPTestClient(port: port).get("/ws/analytics", headers: [("Origin", "https://evil.example")])
        #expect(forbidden.status == 403)
        let metrics = try await h.metrics(port)
        #expect(metrics.contains(#"analytics_wshub_clients_dropped_total{reason="origin"} 2"#))
        #expect(metrics.contains(#"analytics_wshub_clients_dropped_total{reason="full"} 2"#))
        #expect(metrics.contains("analytics_wshub_clients 2"))
    }

    @Test func oneAddressMayOpenOnlyItsShareOfConnectionsAndAStalledHandshakeIsClosed() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub(["ANALYTICS_WS_MAX_CONNECTIONS_PER_ADDRESS": "2", "ANALYTICS_HEADER_TIMEOUT_SEC": "1"])
        let first = try SilentWebSocketPeer(port: port, origin: nil, receiveBuffer: 1 << 16)
        let second = try SilentWebSocketPeer(port: port, origin: nil, receiveBuffer: 1 << 16)
        #expect(first.upgraded && second.upgraded)
        // The third from the same address is refused at the handshake: 429, no upgrade.
        let third = try SilentWebSocketPeer(port: port, origin: nil, receiveBuffer: 1 << 16)
        #expect(!third.upgraded)
        #expect(third.responseHead.hasPrefix("HTTP/1.1 429"), "\(third.responseHead)")
        // When one leaves, its place is free again.
        first.disconnect()
        #expect(
            await eventually {
                (try? SilentWebSocketPeer(port: port, origin: nil, receiveBuffer: 1 << 16))?.upgraded == true
            })
        // A client that opens a connection and never completes its handshake is closed.
        let stalled = try TCPTestConnection(port: port, receiveTimeout: .seconds(10))
        try stalled.send("GET /ws/analytics HTTP/1.1\r\nHost: hub\r\nUpgr")
        let start = ContinuousClock.now
        #expect(await stalled.readUntilClosed() != nil)
        // 1 s of timeout, with room for a busy test machine (held would be the 10 s receive timeout).
        #expect(ContinuousClock.now - start < .seconds(8))
        // Upgraded clients are not subject to it: the second is still served.
        #expect(!second.closedByServer)
        let metrics = try await h.metrics(port)
        #expect(metrics.contains(#"analytics_wshub_clients_dropped_total{reason="address"} "#))
    }

    @Test func shutdownClosesClientsWithGoingAway() async throws {
        let h = try await Harness()
        defer { Task { await h.shutdown() } }
        let port = try await h.startHub()
        let ws = WebSocketTestClient(url: h.url(port))
        #expect(await eventually { !ws.messages(ofType: "initial_stats").isEmpty })
        let hub = try #require(h.hubs.value.first)
        let status = await hub.process.stop()
        #expect(status == 0)
        #expect(await eventually { ws.isClosed })
        #expect(ws.serverCloseCode == 1001)
    }
}
