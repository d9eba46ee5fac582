import AnalyticsCore
import CZlib
import Crypto
import HTTPTypes
import Hummingbird
import NIOCore

/// A file the gateway serves from memory (the tracker, the API reference page and its assets, the
/// OpenAPI description): compressed once at start, sent gzip-encoded to clients that accept it, with
/// an `ETag` per encoding, and `304` when the client already holds it. Clients revalidate before each
/// use (`no-cache`), so a new version reaches them at once while an unchanged one costs a few bytes.
struct StaticFile: Sendable {
    let plain: [UInt8]
    let gzipped: [UInt8]
    let plainETag: String
    let gzipETag: String
    /// Content type, cache policy and whatever else every answer carries.
    let headers: HTTPFields

    /// The security headers of an HTML page: nothing loaded from another host, no inline script or
    /// style, no referrer sent away, and no framing unless the page is made to be embedded.
    /// - Parameters:
    ///   - connectSources: where scripts may connect (`'self'`, and the hub's WebSocket address).
    ///   - embeddable: whether other sites may show the page in a frame (the live badge).
    static func pageHeaders(connectSources: String = "'self'", embeddable: Bool = false) -> HTTPFields {
        [
            .contentSecurityPolicy:
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src \(connectSources); img-src 'self' data:; "
                + "base-uri 'none'; form-action 'none'; frame-ancestors \(embeddable ? "*" : "'none'")",
            .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer",
        ]
    }

    /// - Parameters:
    ///   - text: the file's content.
    ///   - contentType: its `Content-Type`.
    ///   - headers: more header fields for every answer (``pageHeaders(connectSources:embeddable:)`` for a page).
    init(text: String, contentType: String, headers: HTTPFields = [:]) {
        plain = Array(text.utf8)
        gzipped = Self.gzip(plain)
        let tag = SHA256.hash(data: plain).prefix(12).map { byte in
            let hex = Array("0123456789abcdef")
            return String([hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }.joined()
        plainETag = "\"\(tag)\""
        gzipETag = "\"\(tag)-gzip\""
        var fields: HTTPFields = [.contentType: contentType, .cacheControl: "public, no-cache", .vary: "Accept-Encoding"]
        fields.append(contentsOf: headers)
        self.headers = fields
    }

    /// The answer to a `GET` of the file.
    func response(for request: HTTPFields) -> Response {
        let gzip = Self.acceptsGzip(request[.acceptEncoding])
        var fields = headers
        fields[.eTag] = gzip ? gzipETag : plainETag
        if let expected = request[.ifNoneMatch], matches(expected) {
            return Response(status: .notModified, headers: fields)
        }
        if gzip { fields[.contentEncoding] = "gzip" }
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: gzip ? gzipped : plain)))
    }

    /// Whether an `If-None-Match` value names this file (in either encoding), or is `*`.
    func matches(_ ifNoneMatch: String) -> Bool {
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

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
