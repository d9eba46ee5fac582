import CZlib
import NIOCore

/// Decompresses one permessage-deflate message (its frames' payloads put together): what the hub
/// does with a compressed message from a browser, and what the load client and tests do with the
/// hub's. A fresh stream per message, as negotiated (no context takeover either way).
public final class MessageInflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// A raw-deflate stream, reset after each message.
    public init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = analytics_inflate_init_raw(stream)
        precondition(status == Z_OK, "inflateInit2 failed (\(status)): out of memory")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The message's bytes, or nil when the payload is not valid deflate data or would inflate to
    /// more than `maximumSize` bytes.
    /// - Parameters:
    ///   - payload: the message's compressed payload, without the final 00 00 FF FF.
    ///   - maximumSize: the most bytes the message may inflate to: a small message can inflate to
    ///     a very large one.
    public func inflate(_ payload: ByteBuffer, maximumSize: Int) -> ByteBuffer? {
        defer { inflateReset(stream) }
        var input = payload
        input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        var output = ByteBufferAllocator().buffer(capacity: max(256, min(maximumSize + 1, payload.readableBytes * 4)))
        return input.withUnsafeReadableBytes { source -> ByteBuffer? in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(source.count)
            while true {
                var status = Z_OK
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { target in
                    stream.pointee.next_out = target.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = uInt(target.count)
                    status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    return target.count - Int(stream.pointee.avail_out)
                }
                if output.readableBytes > maximumSize { return nil }
                switch status {
                case Z_STREAM_END:
                    return output
                case Z_OK, Z_BUF_ERROR:
                    // Done once every input byte is in and zlib stopped before filling the output.
                    if stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 { return output }
                    if status == Z_BUF_ERROR, stream.pointee.avail_out > 0 { return nil }
                default:
                    return nil
                }
            }
        }
    }
}
