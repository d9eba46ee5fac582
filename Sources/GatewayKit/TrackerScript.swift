import AnalyticsCore
import CZlib
import Crypto
import HTTPTypes
import Hummingbird
import NIOCore

/// The tracker script (`tracker/analytics.js`) served at `GET /js/analytics.js`: compressed once at
/// start, sent gzip-encoded to clients that accept it, with an `ETag` per encoding, and `304` when
/// the browser already holds it. Browsers revalidate before each use (`no-cache`), so a new version
/// reaches the sites at once while an unchanged one costs a few bytes.
enum TrackerScript {
    static let path = "/js/analytics.js"
    static let plain = Array(source.utf8)
    static let gzipped = gzip(plain)
    /// The content's hash, the base of both ETags.
    static let tag = SHA256.hash(data: plain).prefix(12).map { byte in
        let hex = Array("0123456789abcdef")
        return String([hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
    }.joined()
    static let plainETag = "\"\(tag)\""
    static let gzipETag = "\"\(tag)-gzip\""

    /// The answer to `GET /js/analytics.js`.
    static func response(for headers: HTTPFields) -> Response {
        let gzip = acceptsGzip(headers[.acceptEncoding])
        var fields: HTTPFields = [
            .contentType: "text/javascript; charset=utf-8", .cacheControl: "public, no-cache", .vary: "Accept-Encoding",
            .eTag: gzip ? gzipETag : plainETag,
        ]
        if let expected = headers[.ifNoneMatch], matches(expected) {
            return Response(status: .notModified, headers: fields)
        }
        if gzip { fields[.contentEncoding] = "gzip" }
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: gzip ? gzipped : plain)))
    }

    /// Whether an `If-None-Match` value names this script (in either encoding), or is `*`.
    static func matches(_ ifNoneMatch: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { item in
            var tag = item.trimmed(of: " \t")
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            return tag == "*" || tag == plainETag || tag == gzipETag
        }
    }

    /// Whether `Accept-Encoding` accepts gzip (`gzip` or `*`, unless with `q=0`).
    static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        return acceptEncoding.lowercased().split(separator: ",").contains { item in
            let parts = item.split(separator: ";").map { $0.trimmed(of: " \t") }
            guard let coding = parts.first, ["gzip", "x-gzip", "*"].contains(coding) else { return false }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
    }

    /// `bytes` as a gzip stream (zlib, best compression).
    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard analytics_deflate_init_gzip(&stream, Z_BEST_COMPRESSION) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let status = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return [] }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
