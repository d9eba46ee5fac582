import AnalyticsCore
import Foundation

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
            json.field("event_type", entry.event.eventType)
            json.raw(",")
            json.field("timestamp", entry.event.createdAt)
            if let page = entry.event.pageURL.flatMap(publicPath) {
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
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            guard let slash = rest.firstIndex(of: "/") else { return "/" }
            rest = rest[slash...]
        }
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
        guard rest.hasPrefix("/") else { return nil }
        return String(rest.prefix(256))
    }
}
