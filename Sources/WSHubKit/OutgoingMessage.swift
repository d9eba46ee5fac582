import NIOCore
import NIOWebSocket

/// A message made ready once for every client: its text frames, and its compressed frames for the
/// clients that negotiated permessage-deflate. Every client's frames share these bytes.
public struct OutgoingMessage: Sendable {
    /// The message as text frames, for clients without compression.
    public let plain: [WebSocketFrame]
    /// The compressed message as frames, the first marked with RSV1; nil when the message is
    /// shorter than ``minimumSizeToDeflate``, there was no deflater, or it did not get smaller.
    public let deflated: [WebSocketFrame]?
    /// The same frames encoded once (headers and payloads, as a server sends them: unmasked), for
    /// clients written below the frame encoder (see ``HubClient/installWireWriter()``).
    public let plainWire: ByteBuffer
    /// ``deflated`` encoded once the same way; nil when ``deflated`` is.
    public let deflatedWire: ByteBuffer?

    /// Messages smaller than this go out as text to everyone: compressing saves nothing worth it.
    public static let minimumSizeToDeflate = 256

    /// Splits the message into frames and encodes them once.
    /// - Parameters:
    ///   - message: the message's JSON text.
    ///   - deflater: compresses it (see ``MessageDeflater``); without one the message is text only.
    public init(_ message: ByteBuffer, deflater: MessageDeflater? = nil) {
        plain = Self.frames(of: message, compressed: false)
        deflated =
            if message.readableBytes >= Self.minimumSizeToDeflate, let compressed = deflater?.deflate(message) {
                Self.frames(of: compressed, compressed: true)
            } else {
                nil
            }
        plainWire = Self.wire(plain)
        deflatedWire = deflated.map(Self.wire)
    }

    /// The encoded frames for a client: compressed when it negotiated it and the message gained by it.
    public func wire(deflate: Bool) -> ByteBuffer {
        deflate ? deflatedWire ?? plainWire : plainWire
    }

    /// Frames as bytes on the wire (RFC 6455 §5.2): FIN, RSV1 and opcode, then the payload length
    /// in 7, 7+16 or 7+64 bits, no mask, then the payload.
    public static func wire(_ frames: [WebSocketFrame]) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: frames.reduce(0) { $0 + $1.data.readableBytes + 10 })
        for frame in frames {
            out.writeInteger((frame.fin ? 0x80 : 0) | (frame.rsv1 ? 0x40 : 0) | UInt8(webSocketOpcode: frame.opcode))
            let length = frame.data.readableBytes
            switch length {
            case ..<126:
                out.writeInteger(UInt8(length))
            case ...Int(UInt16.max):
                out.writeInteger(UInt8(126))
                out.writeInteger(UInt16(length))
            default:
                out.writeInteger(UInt8(127))
                out.writeInteger(UInt64(length))
            }
            var payload = frame.data
            out.writeBuffer(&payload)
        }
        return out
    }

    /// The frames for a client: compressed when it negotiated it and the message gained by it.
    public func frames(deflate: Bool) -> [WebSocketFrame] {
        deflate ? deflated ?? plain : plain
    }

    /// Largest frame sent: bigger messages go out as a first frame and continuation frames, which
    /// every client accepts (the same frame limit as the hub's own receiving side).
    public static let maximumFrameSize = 1 << 14

    /// A message's payload as frames sharing its bytes; a compressed one says so in its first frame
    /// (RSV1, RFC 7692 §6).
    public static func frames(of payload: ByteBuffer, compressed: Bool = false) -> [WebSocketFrame] {
        var frames: [WebSocketFrame] = []
        var rest = payload
        var opcode = WebSocketOpcode.text
        repeat {
            let piece = rest.readSlice(length: min(maximumFrameSize, rest.readableBytes))!
            frames.append(WebSocketFrame(fin: rest.readableBytes == 0, rsv1: compressed && opcode == .text, opcode: opcode, data: piece))
            opcode = .continuation
        } while rest.readableBytes > 0
        return frames
    }
}
