import AnalyticsCore

/// The compact message published on the realtime channel after each batch, for the WSHub: the
/// counted events with their public fields only (never a visitor id or raw `event_data`) and the
/// fresh realtime figures. The hubs read it (`HubMessages.update` in WSHubKit) and drop any event
/// carrying another field.
///
/// `{"type":"batch","events":[{"event_type","timestamp","page"?,"theme"?,"letter_type"?,"referrer"?,"country"?}, …],
///   "stats":{"current_visitors","unique_today","timestamp"}}`
public enum RealtimeUpdate {
    /// The message for the events a batch counted (re-deliveries left out by the caller).
    /// - Parameters:
    ///   - events: the counted events, in stream order.
    ///   - currentVisitors: the active-visitor count the script read back.
    ///   - uniqueToday: today's unique visitors the script read back.
    ///   - nowMilliseconds: when the figures were read; written in Unix seconds, while each event's
    ///     `timestamp` is in milliseconds.
    /// - Returns: the JSON text, as UTF-8 bytes for `PUBLISH`.
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
            // Derived at ingest, already public: a host or an engine's name, and a country code.
            if !entry.referrerSource.isEmpty {
                json.raw(",")
                json.field("referrer", entry.referrerSource)
            }
            if !entry.country.isEmpty {
                json.raw(",")
                json.field("country", entry.country)
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

    /// The path of a page URL without scheme, host, query or fragment (which may carry tokens), cut
    /// at 256 bytes.
    /// - Returns: `/` for a URL with a host and no path; nil when no path can be read (a relative
    ///   path, another scheme such as `mailto:`, an empty string).
    public static func publicPath(_ url: String) -> String? {
        var url = url
        // Called for every counted event: read the bytes in place, allocate only the result.
        return url.withUTF8 { utf8 -> String? in
            let slash = UInt8(ascii: "/")
            let question = UInt8(ascii: "?")
            let hash = UInt8(ascii: "#")
            let colon = UInt8(ascii: ":")
            var start = 0
            // Skip "scheme://host" (a scheme ends before any '/', '?' or '#'); the host ends at the
            // first '/', '?' or '#'.
            if let first = utf8.firstIndex(where: { $0 == slash || $0 == question || $0 == hash || $0 == colon }),
                utf8[first] == colon, utf8.count > first + 2, utf8[first + 1] == slash, utf8[first + 2] == slash
            {
                start = first + 3
                while start < utf8.count, utf8[start] != slash, utf8[start] != question, utf8[start] != hash { start += 1 }
                guard start < utf8.count, utf8[start] == slash else { return "/" }
            }
            var end = start
            while end < utf8.count, utf8[end] != question, utf8[end] != hash { end += 1 }
            guard end > start, utf8[start] == slash else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: utf8[start..<min(end, start + 256)]), as: UTF8.self)
        }
    }
}
