import AnalyticsCore
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// One dashboard connection: a writer task drains the client's queue into the socket (the only
/// place that waits on it), a reader answers `refresh_stats`. A client closed as too slow has its
/// connection closed at once; at shutdown clients get a 1001.
struct ClientSession: Sendable {
    let hub: LiveHub
    let metrics: HubMetrics
    let channel: any Channel

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        guard case .admitted(let client) = hub.admit() else {
            // Over the cap by a race with other upgrades, or stopping.
            metrics.recordDropped(.full)
            try? await outbound.close(.unknown(1013), reason: "too many connections, try again later")
            return
        }
        metrics.recordConnection()
        defer { hub.remove(client) }
        await hub.sendInitialStats(to: client)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while let message = await client.next() {
                    do {
                        try await Self.write(message, to: outbound)
                    } catch {
                        break
                    }
                }
                switch client.closeReason {
                case .tooSlow:
                    // A close frame (1013, try again later) waits behind the backlog the client does not
                    // read: give it a second, then close the connection.
                    let closing = Task { try? await outbound.close(.unknown(1013), reason: "too slow, try again later") }
                    try? await Task.sleep(for: .seconds(1))
                    closing.cancel()
                    channel.close(promise: nil)
                case .goingAway:
                    try? await outbound.close(.goingAway, reason: "hub stopping")
                case nil:
                    break
                }
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 4096) {
                        if case .text(let text) = message, Self.isRefresh(text) {
                            await hub.sendInitialStats(to: client)
                        }
                    }
                } catch {}
                client.finish()
            }
            await group.waitForAll()
        }
    }

    /// Largest frame sent: bigger messages go out as a text frame and continuation frames, which
    /// every client accepts (the same frame limit as the hub's own receiving side).
    static let maximumFrameSize = 1 << 14

    /// Writes one text message from bytes shared by every client (no copy into a `String`).
    static func write(_ message: ByteBuffer, to outbound: WebSocketOutboundWriter) async throws {
        guard message.readableBytes > maximumFrameSize else {
            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: message)))
            return
        }
        var rest = message
        var opcode = WebSocketOpcode.text
        while let piece = rest.readSlice(length: min(maximumFrameSize, rest.readableBytes)) {
            try await outbound.write(.custom(WebSocketFrame(fin: rest.readableBytes == 0, opcode: opcode, data: piece)))
            opcode = .continuation
            if rest.readableBytes == 0 { break }
        }
    }

    /// `{"type":"refresh_stats"}`
    static func isRefresh(_ text: String) -> Bool {
        guard let value = try? JSONScanner.parse(Array(text.utf8)) else { return false }
        return value["type"]?.string == "refresh_stats"
    }
}
