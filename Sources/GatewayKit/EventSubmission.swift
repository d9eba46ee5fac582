import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// One `POST /api/analytics/event` as read off the connection.
public struct EventSubmission: Sendable {
    /// The TCP peer (nil for a Unix socket).
    public var peer: IPAddress?
    public var headers: HTTPFields
    /// At most `EventRules.maximumBodyBytes`: a longer one is refused as it is read.
    public var body: ByteBuffer

    public init(peer: IPAddress?, headers: HTTPFields, body: ByteBuffer) {
        self.peer = peer
        self.headers = headers
        self.body = body
    }
}
