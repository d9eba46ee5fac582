import AnalyticsCore
import NIOCore

/// The WebSocket messages (docs/data-layout.md), each encoded once and shared by every client:
/// `initial_stats`, `heartbeat`, `event` and `events`.
public enum HubMessages {
    /// `{"type":"initial_stats","data":…}`, sent on connect, on `refresh_stats` and after the Redis
    /// subscription came back.
    /// - Parameter stats: the realtime figures' JSON:
    ///   `{"current_visitors":N,"unique_today":N,"timestamp":S}`.
    public static func initialStats(_ stats: [UInt8]) -> ByteBuffer { wrap("initial_stats", stats) }
    /// `{"type":"heartbeat","data":…}`: the same figures as ``initialStats(_:)``, sent every
    /// heartbeat interval.
    public static func heartbeat(_ stats: [UInt8]) -> ByteBuffer { wrap("heartbeat", stats) }

    /// One event as `{"type":"event","data":{…}}`, several as `{"type":"events","data":[…]}`.
    /// - Parameter events: the JSON of public event objects, in order (see ``update(_:)``).
    /// - Returns: nil when there are no events.
    public static func events(_ events: some Collection<ArraySlice<UInt8>>) -> ByteBuffer? {
        guard let first = events.first else { return nil }
        if events.count == 1 { return wrap("event", Array(first)) }
        var buffer = ByteBufferAllocator().buffer(capacity: 32 + events.reduce(0) { $0 + $1.count + 1 })
        buffer.writeStaticString(#"{"type":"events","data":["#)
        for (i, event) in events.enumerated() {
            if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeBytes(event)
        }
        buffer.writeStaticString("]}")
        return buffer
    }

    static func wrap(_ type: String, _ data: [UInt8]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 32 + data.count)
        buffer.writeStaticString(#"{"type":""#)
        buffer.writeString(type)
        buffer.writeStaticString(#"","data":"#)
        buffer.writeBytes(data)
        buffer.writeStaticString("}")
        return buffer
    }

    /// What an aggregator update (`{"type":"batch","events":[…],"stats":{…}}` on the realtime
    /// channel) carries: each public event object as raw JSON, and the fresh realtime figures.
    public struct Update: Sendable, Equatable {
        /// The public event objects, each a slice of the payload, in stream order.
        public var events: [ArraySlice<UInt8>]
        /// The `stats` object's JSON, when the update carries one.
        public var stats: [UInt8]?
    }

    /// Reads an update; nil if it is not one. Only the fields the aggregator publishes are kept: an
    /// event object carrying anything but public fields is dropped whole (defence in depth: no
    /// visitor id or event_data ever reaches a dashboard, whoever published on the channel).
    /// - Parameter payload: a message received on the realtime channel.
    /// - Returns: nil when the payload is not a `batch` update.
    public static func update(_ payload: [UInt8]) -> Update? {
        guard let root = try? JSONScanner.parse(payload), root.kind == .object, root["type"]?.string == "batch" else { return nil }
        var events: [ArraySlice<UInt8>] = []
        for element in root["events"]?.elements ?? [] where element.kind == .object {
            guard element.members.allSatisfy({ publicFields.contains($0.key) }), element["event_type"]?.string != nil else { continue }
            events.append(payload[element.span])
        }
        let stats = root["stats"].flatMap { $0.kind == .object ? Array(payload[$0.span]) : nil }
        return Update(events: events, stats: stats)
    }

    /// The fields of an event a dashboard may see.
    public static let publicFields: Set<String> = ["event_type", "timestamp", "page", "theme", "letter_type", "referrer", "country"]

}
