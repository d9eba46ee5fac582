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
    /// Negotiated permessage-deflate (see `SharedDeflateNegotiation`).
    let deflates: Bool

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let channel = channel
        let admission = hub.admit(channel: channel, deflates: deflates) { reason in
            switch reason {
            case .tooSlow:
                // The close frame (1013, try again later) waits behind the backlog the client does
                // not read: give it a second, then close the connection.
                Task {
                    let closing = Task { try? await outbound.close(.unknown(1013), reason: "too slow, try again later") }
                    try? await Task.sleep(for: .seconds(1))
                    closing.cancel()
                    channel.close(promise: nil)
                }
            case .goingAway:
                Task { try? await outbound.close(.goingAway, reason: "hub stopping") }
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
        await hub.sendInitialStats(to: client)
        do {
            for try await message in inbound.messages(maxSize: 4096) {
                if case .text(let text) = message, Self.isRefresh(text) {
                    await hub.sendInitialStats(to: client)
                }
            }
        } catch {}
        client.close(.gone)
    }

    /// `{"type":"refresh_stats"}`
    static func isRefresh(_ text: String) -> Bool {
        guard let value = try? JSONScanner.parse(Array(text.utf8)) else { return false }
        return value["type"]?.string == "refresh_stats"
    }
}
