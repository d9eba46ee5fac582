import AnalyticsCore
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// One dashboard connection: registered with the hub (which writes to it directly), it reads what
/// the dashboard sends and answers `refresh_stats`. Closing goes through the WebSocket's own writer,
/// so the close handshake stays that of HummingbirdWebSocket.
struct ClientSession: Sendable {
    let hub: LiveHub
    let metrics: HubMetrics
    let channel: any Channel
    /// Negotiated permessage-deflate (see ``SharedDeflateNegotiation``).
    let deflates: Bool

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let channel = channel
        let stats = await hub.currentStats()
        let admission = hub.admit(channel: channel, deflates: deflates, initialStats: stats) { reason in
            switch reason {
            case .tooSlow:
                // The close frame waits behind the backlog the client does not read.
                Self.close(outbound, channel, code: .unknown(1013), reason: "too slow, try again later", grace: .seconds(1))
            case .goingAway:
                Self.close(outbound, channel, code: .goingAway, reason: "hub stopping", grace: .seconds(2))
            case .silent:
                Self.close(outbound, channel, code: .goingAway, reason: "ping timeout", grace: .seconds(1))
            case .gone:
                break
            }
        }
        guard case .admitted(let client) = admission else {
            // Over the cap by a race with other upgrades, or stopping.
            metrics.recordDropped(.full)
            try? await outbound.close(.unknown(1013), reason: "too many connections, try again later")
            return
        }
        metrics.recordConnection()
        defer { hub.remove(client) }
        // Without it pongs go unseen and the peer would be closed as silent: better closed now.
        guard (try? await PongObserver.install(for: client).get()) != nil, (try? await client.installWireWriter().get()) != nil else {
            client.close(.gone)
            return
        }
        // Redis was unreachable at admission: try again (the heartbeat follows anyway).
        if stats == nil { await hub.sendInitialStats(to: client) }
        // Frames rather than `inbound.messages(maxSize:)`: every connection's task waits here, and
        // the message reader's larger suspended frame costs memory per connection, for messages
        // that are one small frame in practice.
        var text: ByteBuffer?
        // One refresh a second at most: each costs Redis reads, and a client asking in a loop
        // would make every client's figures later.
        var lastRefresh: ContinuousClock.Instant?
        do {
            for try await frame in inbound {
                switch frame.opcode {
                case .text:
                    text = frame.data
                case .continuation:
                    guard var gathered = text else { continue }
                    var data = frame.data
                    gathered.writeBuffer(&data)
                    // Nothing a dashboard sends is this long: ignore it.
                    text = gathered.readableBytes <= Self.maximumMessageSize ? gathered : nil
                case .binary:
                    text = nil
                }
                if frame.fin, let message = text {
                    text = nil
                    if Self.isRefresh(message) {
                        let now = ContinuousClock.now
                        if let last = lastRefresh, now - last < Self.refreshInterval {
                            metrics.recordRefreshIgnored()
                            continue
                        }
                        lastRefresh = now
                        await hub.sendInitialStats(to: client)
                    }
                }
            }
        } catch {}
        client.close(.gone)
    }

    /// Sends a close frame, then closes the connection after `grace` whether or not the peer
    /// answered: the frame may wait behind a backlog it does not read, or it may never answer.
    static func close(
        _ outbound: WebSocketOutboundWriter, _ channel: any Channel, code: WebSocketErrorCode, reason: String, grace: Duration
    ) {
        Task {
            let closing = Task { try? await outbound.close(code, reason: reason) }
            try? await Task.sleep(for: grace)
            closing.cancel()
            channel.close(promise: nil)
        }
    }

    /// The least time between two `refresh_stats` answered for one client; those between are ignored.
    static let refreshInterval: Duration = .seconds(1)

    /// Longest message read from a dashboard.
    static let maximumMessageSize = 4096

    /// `{"type":"refresh_stats"}`
    static func isRefresh(_ message: ByteBuffer) -> Bool {
        guard let value = try? JSONScanner.parse(Array(message.readableBytesView)) else { return false }
        return value["type"]?.string == "refresh_stats"
    }
}
