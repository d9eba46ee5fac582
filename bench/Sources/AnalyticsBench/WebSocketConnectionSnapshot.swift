/// What one ws-load connection saw so far: a copy, taken on the event loop of a NIO connection
/// (`WebSocketLoadConnection`) or under the lock of the counting ones (`CountingConnections`).
struct WebSocketConnectionSnapshot: Sendable {
    var index: Int
    var role: WebSocketLoadConnection.Role
    var established = false
    var failure: String?
    var connectedAt: UInt64 = 0
    var messages = 0
    var payloadBytes = 0
    /// permessage-deflate accepted by the hub.
    var deflate = false
    /// Sampled connections: bytes of the compressed messages on the wire, and once inflated.
    var compressedBytes = 0
    var inflatedBytes = 0
    var byType = [Int](repeating: 0, count: HubMessageType.allCases.count)
    var firstType: HubMessageType?
    var pings = 0
    var protocolErrors = 0
    var closedAt: UInt64?
    var closedByServer = false
    var closeCode: Int?
    var firstEventMessageAt: UInt64?
    var lastEventMessageAt: UInt64?
    // Sampled connections.
    var events = 0
    var eventsWithoutTimestamp = 0
    var latencies: [Int32] = []
    var maxMessagesPerSecond = 0
    var maxEventMessagesPerSecond = 0
    /// Calendar seconds (of the monotonic clock) in which the client received event messages, and
    /// those with more than 10.
    var eventSeconds = 0
    var eventSecondsOverTen = 0
    var forbiddenKeys: [String] = []
    var parseErrors = 0
    var refreshSent = false
    // Stalled connections.
    var stalledAt: UInt64?
    var localPort: Int?
    var stallEndSeen: String?
    var stallEndAt: UInt64?
    var resumed = false
    var bytesAtResume = 0
}

extension WebSocketConnectionSnapshot {
    /// A message counted without parsing it (counting connections): its type from its first bytes.
    mutating func countUnparsed(compressed: Bool, prefix: [UInt8], at now: UInt64) {
        messages += 1
        let type = compressed ? .compressed : HubMessageType(prefix: prefix)
        byType[type.rawValue] += 1
        if firstType == nil { firstType = type }
        if type == .event || type == .events { eventMessage(at: now) }
    }

    /// A message that carried events: the first and last such arrival.
    mutating func eventMessage(at now: UInt64) {
        if firstEventMessageAt == nil { firstEventMessageAt = now }
        lastEventMessageAt = now
    }
}
