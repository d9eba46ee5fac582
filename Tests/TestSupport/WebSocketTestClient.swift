import Foundation
import HTTPTypes
import HummingbirdWSClient
import HummingbirdWSCompression
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real WebSocket client for the hub's tests: records every text message with its arrival time,
/// can send text, and reports how the server closed the connection.
public final class WebSocketTestClient: Sendable {
    public struct Received: Sendable {
        public let text: String
        public let at: ContinuousClock.Instant
        public let epochMilliseconds: Int64

        /// `type` of the JSON message.
        public var type: String? {
            ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?["type"] as? String
        }
    }

    private let received = Locked<[Received]>([])
    private let outgoing = Locked<[String]>([])
    private let closeCode = Locked<Int?>(nil)
    private let ended = Locked(false)
    private let task: Task<Void, Never>

    /// `deflate`: offers permessage-deflate (as browsers do), compressing even its smallest messages.
    public init(url: String, origin: String? = nil, deflate: Bool = false) {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        if deflate {
            let offer = WebSocketExtensionFactory.perMessageDeflate(
                clientNoContextTakeover: true, maxDecompressedFrameSize: 1 << 20, minFrameSizeToCompress: 1)
            configuration.extensions = [offer.build()]
        }
        if let origin { configuration.additionalHeaders[.origin] = origin }
        let received = self.received
        let outgoing = self.outgoing
        let closeCode = self.closeCode
        let ended = self.ended
        task = Task {
            let close = try? await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "ws-test")) {
                inbound, outbound, _ in
                let sender = Task {
                    while !Task.isCancelled {
                        let pending = outgoing.withLock { list -> [String] in
                            defer { list.removeAll() }
                            return list
                        }
                        for text in pending { try? await outbound.write(.text(text)) }
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                }
                defer { sender.cancel() }
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    if case .text(let text) = message {
                        let now = ContinuousClock.now
                        let epoch = Int64(Date().timeIntervalSince1970 * 1000)
                        received.withLock { $0.append(Received(text: text, at: now, epochMilliseconds: epoch)) }
                    }
                }
            }
            if let close { closeCode.withLock { $0 = Int(close.closeCode.code) } }
            ended.withLock { $0 = true }
        }
    }

    public var messages: [Received] { received.value }
    public func messages(ofType type: String) -> [Received] { received.value.filter { $0.type == type } }
    public var isClosed: Bool { ended.value }
    public var serverCloseCode: Int? { closeCode.value }

    public func send(_ text: String) {
        outgoing.withLock { $0.append(text) }
    }

    public func close() {
        task.cancel()
    }

    deinit {
        task.cancel()
    }
}

extension WebSocketErrorCode {
    var code: UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: self)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }
}
