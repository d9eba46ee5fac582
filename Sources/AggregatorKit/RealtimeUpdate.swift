import AnalyticsCore

/// The compact message published on the realtime channel after each batch, for the WSHub: the
/// counted events with their public fields only (never a visitor id or raw `event_data`) and the
/// fresh realtime figures.
///
/// `{"type":"batch","events":[{"event_type","timestamp","page"?,"theme"?,"letter_type"?}, …],
///   "stats":{"current_visitors","unique_today","timestamp"}}`
public enum RealtimeUpdate {
    public static func message(
        events: some Sequence<AggregationBatch.Entry>, currentVisitors: Int, uniqueToday: Int, nowMilliseconds: Int64
    ) -> [UInt8] {
        var json = JSONText(capacity: 512)
        json.raw(#"{"type":"batch","events":["#)
        var first = true
        for entry in events {
            if !first { json.raw(",") }
            first = false
            json.raw("{")
            json.field("event_type", entry.eventType)
            json.raw(",")
            json.field("timestamp", entry.createdAt)
            if let page = entry.pageURL.flatMap(publicPath) {
                json.raw(",")
                json.field("page", page)
            }
            switch entry.dimension {
            case .theme(let theme):
                json.raw(",")
                json.field("theme", theme)
            case .letter(let type):
                json.raw(",")
                json.field("letter_type", type)
            case .none:
                break
            }
            json.raw("}")
        }
        json.raw(#"],"stats":{"#)
        json.field("current_visitors", Int64(currentVisitors))
        json.raw(",")
        json.field("unique_today", Int64(uniqueToday))
        json.raw(",")
        json.field("timestamp", nowMilliseconds / 1000)
        json.raw("}}")
        return json.bytes
    }

    /// The path of a page URL without scheme, host, query or fragment (which may carry tokens).
    public static func publicPath(_ url: String) -> String? {
        let utf8 = Array(url.utf8)
        var start = 0
        // Skip "scheme://host" (a scheme ends before any '/', '?' or '#'); the host ends at the
        // first '/', '?' or '#'.
        if let colon = utf8.firstIndex(where: { "/?#:".utf8.contains($0) }), utf8[colon] == UInt8(ascii: ":"),
            utf8.count > colon + 2, utf8[colon + 1] == UInt8(ascii: "/"), utf8[colon + 2] == UInt8(ascii: "/")
        {
            start = colon + 3
            while start < utf8.count, !"/?#".utf8.contains(utf8[start]) { start += 1 }
            guard start < utf8.count, utf8[start] == UInt8(ascii: "/") else { return "/" }
        }
        var end = start
        while end < utf8.count, utf8[end] != UInt8(ascii: "?"), utf8[end] != UInt8(ascii: "#") { end += 1 }
        guard end > start, utf8[start] == UInt8(ascii: "/") else { return nil }
        return String(decoding: utf8[start..<min(end, start + 256)], as: UTF8.self)
    }
}
