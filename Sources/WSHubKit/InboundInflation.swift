import HTTPTypes
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

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
