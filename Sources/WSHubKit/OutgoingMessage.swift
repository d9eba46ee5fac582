import NIOCore
import NIOWebSocket

/// A message made ready once for every client: its text frames, and its compressed frames for the
/// clients that negotiated permessage-deflate. Every client's frames share these bytes.
public struct OutgoingMessage: Sendable {
    public let plain: [WebSocketFrame]
    public let deflated: [WebSocketFrame]?

    /// Messages smaller than this go out as text to everyone: compressing saves nothing worth it.
    public static let minimumSizeToDeflate = 256

    /// `deflater` compresses it (see `MessageDeflater`); without one the message is text only.
    public init(_ message: ByteBuffer, deflater: MessageDeflater? = nil) {
        plain = Self.frames(of: message, compressed: false)
        deflated =
            if message.readableBytes >= Self.minimumSizeToDeflate, let compressed = deflater?.deflate(message) {
                Self.frames(of: compressed, compressed: true)
            } else {
                nil
            }
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
