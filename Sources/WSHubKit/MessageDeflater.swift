import CZlib
import NIOCore

/// Compresses hub messages for WebSocket permessage-deflate (RFC 7692) without context takeover:
/// each message is compressed on its own, so the same compressed bytes go to every client that
/// negotiated the extension (one compression per message, not one per client, and no zlib state
/// per connection). Owns its zlib stream; not thread-safe (the hub keeps it behind a lock).
public final class MessageDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Level 6: a message is compressed once for every client, so the ratio matters more than speed.
    public init(level: Int32 = 6) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = analytics_deflate_init_raw(stream, level)
        precondition(status == Z_OK, "deflateInit2 failed (\(status)): out of memory")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The message's compressed payload (without the final 00 00 FF FF, RFC 7692 §7.2.1), or nil
    /// when compressing would not make it smaller.
    /// - Parameter message: a whole message's payload.
    public func deflate(_ message: ByteBuffer) -> ByteBuffer? {
        guard message.readableBytes > 0 else { return nil }
        defer { deflateReset(stream) }
        // Room for incompressible input: deflateBound plus the sync flush's empty block.
        let bound = Int(deflateBound(stream, uLong(message.readableBytes))) + 16
        var output = ByteBufferAllocator().buffer(capacity: bound)
        let consumedAll = message.withUnsafeReadableBytes { source -> Bool in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = target.bindMemory(to: Bytef.self).baseAddress
                stream.pointee.avail_out = uInt(target.count)
                _ = CZlib.deflate(stream, Z_SYNC_FLUSH)
                return target.count - Int(stream.pointee.avail_out)
            }
            // All input taken and room left: the sync flush is complete (nothing still inside zlib).
            return stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0
        }
        guard consumedAll, output.readableBytes > 4 else { return nil }
        output.moveWriterIndex(to: output.writerIndex - 4)
        return output.readableBytes < message.readableBytes ? output : nil
    }
}
