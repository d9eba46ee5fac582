import HTTPTypes
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// permessage-deflate (RFC 7692) as the hub speaks it: no context takeover in either direction, so
/// that a message is compressed once and the same bytes serve every client that negotiated it, and
/// no connection keeps a zlib state (with context takeover each would keep a compressor's whole
/// window, too much for thousands of dashboards). Sending is the hub's (``HubClient`` picks the
/// compressed frames of an ``OutgoingMessage``); this extension only negotiates and inflates what a
/// browser sends compressed.
public struct SharedDeflateNegotiation: WebSocketExtensionBuilder {
    /// The extension's name in `Sec-WebSocket-Extensions`.
    public static let name = "permessage-deflate"
    static let response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    /// Largest message a client may send once inflated (the hub reads messages of 4 KiB at most).
    static let maximumInflatedSize = 1 << 14

    /// Creates the builder; `WebSocketExtensionFactory.sharedDeflate` hands it to
    /// HummingbirdWebSocket's configuration.
    public init() {}

    /// Whether a client with these upgrade request headers gets compressed messages: it offered
    /// permessage-deflate with parameters the hub can honour.
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

    /// The offer a client would send; the hub never opens WebSocket connections itself.
    public func clientRequestHeader() -> String { Self.response }

    /// The `Sec-WebSocket-Extensions` answer to a client's offer, or nil to decline it. (The name's
    /// spelling is HummingbirdWebSocket's.)
    public func serverReponseHeader(to offer: WebSocketExtensionHTTPParameters) -> String? {
        Self.acceptable(offer) ? Self.response : nil
    }

    /// What inflates the compressed messages of a client whose offer was accepted; nil when it was
    /// declined.
    public func serverExtension(from offer: WebSocketExtensionHTTPParameters) throws -> (any WebSocketExtension)? {
        Self.acceptable(offer) ? InboundInflation() : nil
    }

    /// Nil: the hub is a server only.
    public func clientExtension(from response: WebSocketExtensionHTTPParameters) throws -> (any WebSocketExtension)? { nil }
}

extension WebSocketExtensionFactory {
    /// permessage-deflate with messages compressed once for all clients (see
    /// ``SharedDeflateNegotiation``).
    public static var sharedDeflate: WebSocketExtensionFactory { .init { SharedDeflateNegotiation() } }
}
