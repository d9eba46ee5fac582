import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// One `POST /api/analytics/event` as read off the connection, for
/// ``EventIngest/ingest(_:answer:)``.
public struct EventSubmission: Sendable {
    /// The TCP peer (nil for a Unix socket). The client's address is the peer, or the last untrusted
    /// hop of `X-Forwarded-For` when the peer is a trusted proxy.
    public var peer: IPAddress?
    /// The request's header fields: cookie, user agent, `Referer` and `X-Forwarded-For` are read.
    public var headers: HTTPFields
    /// At most `EventRules.maximumBodyBytes`: a longer one is refused as it is read.
    public var body: ByteBuffer
    /// The request's `Host` (HTTP/1) or `:authority`, to tell a request of another site.
    public var authority: String?

    /// Wraps one request read off a connection.
    public init(peer: IPAddress?, headers: HTTPFields, body: ByteBuffer, authority: String? = nil) {
        self.peer = peer
        self.headers = headers
        self.body = body
        self.authority = authority
    }
}
