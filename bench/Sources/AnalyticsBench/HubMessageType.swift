/// Message types, by index in the per-connection counters.
enum HubMessageType: Int, CaseIterable, Sendable {
    case initialStats, heartbeat, event, events, other
    /// Compressed (permessage-deflate), on a connection that does not inflate.
    case compressed

    var name: String {
        switch self {
        case .initialStats: "initial_stats"
        case .heartbeat: "heartbeat"
        case .event: "event"
        case .events: "events"
        case .other: "other"
        case .compressed: "compressed"
        }
    }

    init(name: some Collection<UInt8>) {
        switch String(decoding: name, as: UTF8.self) {
        case "initial_stats": self = .initialStats
        case "heartbeat": self = .heartbeat
        case "event": self = .event
        case "events": self = .events
        default: self = .other
        }
    }

    /// From the first bytes of a message as the hub writes it: `{"type":"NAME",…`.
    init(prefix: [UInt8]) {
        let head = Array(#"{"type":""#.utf8)
        guard prefix.count > head.count, prefix.starts(with: head),
            let end = prefix[head.count...].firstIndex(of: UInt8(ascii: "\""))
        else {
            self = .other
            return
        }
        self.init(name: prefix[head.count..<end])
    }
}
