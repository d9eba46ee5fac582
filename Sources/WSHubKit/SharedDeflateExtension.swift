import HTTPTypes
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// permessage-deflate (RFC 7692) as the hub speaks it: no context takeover in either direction, so
/// that a message is compressed once and the same bytes serve every client that negotiated it, and
/// no connection keeps a zlib state (with context takeover each would keep a compressor's whole
/// window, too much for thousands of dashboards). Sending is the hub's (`HubClient` picks the compressed frames); this extension only
/// negotiates and inflates what a browser sends compressed.
public struct SharedDeflateNegotiation: WebSocketExtensionBuilder {
    public static let name = "permessage-deflate"
    static let response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    /// Largest message a client may send once inflated (the hub reads messages of 4 KiB at most).
    static let maximumInflatedSize = 1 << 14

    public init() {}

    /// Whether a client with these upgrade request headers gets compressed messages.
    public static func negotiated(requestHeaders: HTTPFields) -> Bool {
        WebSocketExtensionHTTPParameters.parseHeaders(requestHeaders).contains { $0.name == name && acceptable($0) }
    }

    /// An offer the hub can honour: only parameters it knows, and a window of 15 bits for what it
    /// sends (a message compressed once cannot suit smaller windows). Any client window is inflated.
    static func acceptable(_ offer: WebSocketExtensionHTTPParameters) -> Bool {
        let known: Set = ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"]
        guard offer.parameters.keys.allSatisfy(known.contains) else { return false }
        if let bits = offer.parameters["server_max_window_bits"], bits.integer != 15 { return false }
        return true
    }

    public func clientRequestHeader() -> String { Self.response }

    public func serverReponseHeader(to offer: WebSocketExtensionHTTPParameters) -> String? {
        Self.acceptable(offer) ? Self.response : nil
    }

    public func serverExtension(from offer: WebSocketExtensionHTTPParameters) throws -> (any WebSocketExtension)? {
        Self.acceptable(offer) ? InboundInflation() : nil
    }

    public func clientExtension(from response: WebSocketExtensionHTTPParameters) throws -> (any WebSocketExtension)? { nil }
}

extension WebSocketExtensionFactory {
    /// permessage-deflate with messages compressed once for all clients (see `SharedDeflateNegotiation`).
    public static var sharedDeflate: WebSocketExtensionFactory { .init { SharedDeflateNegotiation() } }
}

/// Inflates compressed messages from the client; frames to send pass through untouched.
final class InboundInflation: WebSocketExtension {
    let name = SharedDeflateNegotiation.name
    var reservedBits: WebSocketFrame.ReservedBits { .rsv1 }
    /// The compressed payload of a message arriving in several frames, until its last frame.
    /// Frames of one connection come one at a time from its reader; the lock makes that checkable.
    private let gathering = Mutex<ByteBuffer?>(nil)

    struct InflationError: Error, CustomStringConvertible {
        var description: String { "a compressed message was malformed (corrupt, RSV1 on a continuation frame, or over 16 KiB inflated)" }
    }

    private enum Step {
        case plain
        case partial
        case complete(ByteBuffer)
    }

    func processReceivedFrame(_ frame: WebSocketFrame, context: WebSocketExtensionContext) async throws -> WebSocketFrame {
        guard frame.opcode == .text || frame.opcode == .binary || frame.opcode == .continuation else { return frame }
        let step = try gathering.withLock { gathering -> Step in
            if frame.opcode == .continuation, frame.rsv1 {
                throw InflationError()  // RSV1 belongs on a message's first frame only (RFC 7692 §6.1)
            }
            if frame.opcode != .continuation {
                guard frame.rsv1 else { return .plain }
                gathering = ByteBuffer()
            } else if gathering == nil {
                return .plain  // the rest of an uncompressed message
            }
            var data = frame.unmaskedData
            gathering!.writeBuffer(&data)
            guard gathering!.readableBytes <= SharedDeflateNegotiation.maximumInflatedSize else {
                gathering = nil
                throw InflationError()
            }
            guard frame.fin else { return .partial }
            defer { gathering = nil }
            return .complete(gathering!)
        }
        var result = frame
        result.rsv1 = false
        result.maskKey = nil
        switch step {
        case .plain:
            return frame
        case .partial:
            // The message is inflated whole with its last frame; the frames before it add nothing.
            result.data = ByteBuffer()
        case .complete(let payload):
            guard let inflated = MessageInflater().inflate(payload, maximumSize: SharedDeflateNegotiation.maximumInflatedSize) else {
                throw InflationError()
            }
            result.data = inflated
        }
        return result
    }

    func processFrameToSend(_ frame: WebSocketFrame, context: WebSocketExtensionContext) async throws -> WebSocketFrame { frame }

    func shutdown() async {}
}
