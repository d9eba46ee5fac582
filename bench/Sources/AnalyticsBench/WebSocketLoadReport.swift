import Foundation

/// What ws-load prints at the end, from the connections' snapshots: once every connection attempt
/// had finished (`atReady`), at the end of the hold (`atEnd`), and after the stalled ones read again.
struct WebSocketLoadReport {
    let total: Int
    let clients: Int
    let stall: Int
    let rampSeconds: Double
    let holdSeconds: Double
    let atReady: [WebSocketConnectionSnapshot]
    let atEnd: [WebSocketConnectionSnapshot]
    let resumed: [WebSocketConnectionSnapshot]
    let hubSide: [Int: HubSocketEnd]

    func print() {
        let normal = atEnd.filter { $0.role != .stalled }
        let sampled = atEnd.filter { $0.role == .sampled }
        let readyByIndex = Dictionary(uniqueKeysWithValues: atReady.map { ($0.index, $0) })
        let established = normal.filter { $0.established }
        let failed = normal.filter { !$0.established }
        let closedByServer = established.filter { $0.closedByServer }

        Swift.print(
            "== ws-load: \(clients) clients (\(sampled.count) sampled) + \(stall) stalled; ramp-up \(String(format: "%.2f", rampSeconds)) s, held \(String(format: "%.1f", holdSeconds)) s"
        )
        Swift.print(
            "connections: \(established.count) established, \(failed.count) failed\(groupCounts(failed.map { $0.failure ?? "?" })), "
                + "\(closedByServer.count) closed by the server\(groupCounts(closedByServer.map { $0.closeCode.map { "code \($0)" } ?? "no close frame" }))"
        )

        // Messages of every connection during the hold.
        var holdMessages = 0
        var holdBytes = 0
        var byType = [Int](repeating: 0, count: HubMessageType.allCases.count)
        var firstTypes: [String] = []
        var pings = 0
        var protocolErrors = 0
        for s in established {
            let r = readyByIndex[s.index]
            holdMessages += s.messages - (r?.messages ?? 0)
            holdBytes += s.payloadBytes - (r?.payloadBytes ?? 0)
            for t in byType.indices { byType[t] += s.byType[t] }
            firstTypes.append(s.firstType?.name ?? "none")
            pings += s.pings
            protocolErrors += s.protocolErrors
        }
        let n = Double(max(established.count, 1))
        Swift.print(
            String(
                format: "messages during the hold, per client: %.2f messages/s, %.0f bytes/s (all clients: %.0f messages/s, %.1f MB/s)",
                Double(holdMessages) / n / holdSeconds, Double(holdBytes) / n / holdSeconds,
                Double(holdMessages) / holdSeconds, Double(holdBytes) / holdSeconds / 1e6))
        Swift.print(
            "messages by type, all clients, whole run: "
                + HubMessageType.allCases.map { "\($0.name) \(byType[$0.rawValue])" }.joined(separator: ", ")
                + "; first message\(groupCounts(firstTypes)); pings answered \(pings); protocol errors \(protocolErrors)")
        let deflating = established.filter(\.deflate).count
        let compressed = sampled.reduce(0) { $0 + $1.compressedBytes }
        let inflated = sampled.reduce(0) { $0 + $1.inflatedBytes }
        Swift.print(
            "permessage-deflate: negotiated by \(deflating) of \(established.count) connections"
                + (compressed > 0
                    ? String(
                        format: "; sampled clients' compressed messages: %.1f MB on the wire, %.1f MB inflated (%.1f×)",
                        Double(compressed) / 1e6, Double(inflated) / 1e6, Double(inflated) / Double(compressed)) : ""))

        // Sampled connections: rates, events, latency, privacy.
        if !sampled.isEmpty {
            let eventsPerClient = sampled.map(\.events).sorted()
            let starts = sampled.compactMap(\.firstEventMessageAt)
            let ends = sampled.compactMap(\.lastEventMessageAt)
            let flowSeconds = starts.isEmpty ? 0 : Double(ends.max()! - starts.min()!) / 1e9
            let eventMessages = sampled.reduce(0) {
                $0 + $1.byType[HubMessageType.event.rawValue] + $1.byType[HubMessageType.events.rawValue]
            }
            let events = eventsPerClient.reduce(0, +)
            let sn = Double(sampled.count)
            Swift.print(
                String(
                    format:
                        "sampled clients: events received per client min %d / median %d / max %d; while events flowed (%.1f s): %.2f event messages/s and %.0f events/s per client",
                    eventsPerClient.first!, eventsPerClient[eventsPerClient.count / 2], eventsPerClient.last!, flowSeconds,
                    flowSeconds > 0 ? Double(eventMessages) / sn / flowSeconds : 0, flowSeconds > 0 ? Double(events) / sn / flowSeconds : 0)
            )
            let maxAll = sampled.map(\.maxMessagesPerSecond).max() ?? 0
            let maxEvents = sampled.map(\.maxEventMessagesPerSecond).max() ?? 0
            let over = sampled.filter { $0.maxEventMessagesPerSecond > 10 }.count
            let seconds = sampled.reduce(0) { $0 + $1.eventSeconds }
            let secondsOver = sampled.reduce(0) { $0 + $1.eventSecondsOverTen }
            Swift.print(
                "max messages in any sliding 1 s window (one client): \(maxAll) in all, \(maxEvents) carrying events"
                    + " (limit 10 + heartbeats; \(over) of \(sampled.count) clients over 10 at least once;"
                    + " \(secondsOver) of \(seconds) client-seconds on the clock had more than 10 event messages)")
            var latencies: [Int32] = []
            latencies.reserveCapacity(sampled.reduce(0) { $0 + $1.latencies.count })
            for s in sampled { latencies.append(contentsOf: s.latencies) }
            latencies.sort()
            func pct(_ p: Double) -> Double {
                latencies.isEmpty ? .nan : Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
            }
            let negative = latencies.prefix { $0 < -1000 }.count
            Swift.print(
                String(
                    format:
                        "latency over %d sampled events: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d earlier than their timestamp by > 1 ms, %d without timestamp)",
                    latencies.count, pct(0.5), pct(0.9), pct(0.99), latencies.last.map { Double($0) / 1000 } ?? .nan,
                    negative, sampled.reduce(0) { $0 + $1.eventsWithoutTimestamp }))
            let forbidden = Set(sampled.flatMap(\.forbiddenKeys))
            let parseErrors = sampled.reduce(0) { $0 + $1.parseErrors }
            Swift.print(
                forbidden.isEmpty
                    ? "privacy: no message carried a visitor id or event_data (\(parseErrors) unparsable messages)"
                    : "privacy: VIOLATION, keys seen: \(forbidden.sorted().joined(separator: ", ")) (\(parseErrors) unparsable messages)")
            let refreshed = sampled.filter { $0.refreshSent }
            let answered = refreshed.filter { $0.byType[HubMessageType.initialStats.rawValue] >= 2 }.count
            if !refreshed.isEmpty { Swift.print("refresh_stats answered with initial_stats: \(answered) of \(refreshed.count)") }

            let p = { (x: Double) in x.isNaN ? "nan" : String(format: "%.1f", x) }
            Swift.print(
                "summary: established=\(established.count) failed=\(failed.count) closed_by_server=\(closedByServer.count)"
                    + " events_min=\(eventsPerClient.first!) events_median=\(eventsPerClient[eventsPerClient.count / 2]) events_max=\(eventsPerClient.last!)"
                    + " msgs_per_client_s=\(String(format: "%.2f", Double(holdMessages) / n / holdSeconds))"
                    + " event_msgs_per_client_s=\(String(format: "%.2f", flowSeconds > 0 ? Double(eventMessages) / sn / flowSeconds : 0))"
                    + " max_msgs_1s=\(maxAll) max_event_msgs_1s=\(maxEvents)"
                    + " seconds_over_10=\(sampled.reduce(0) { $0 + $1.eventSecondsOverTen })/\(sampled.reduce(0) { $0 + $1.eventSeconds })"
                    + " p50_ms=\(p(pct(0.5))) p90_ms=\(p(pct(0.9))) p99_ms=\(p(pct(0.99))) max_ms=\(p(latencies.last.map { Double($0) / 1000 } ?? .nan))"
                    + " privacy=\(forbidden.isEmpty ? "ok" : "VIOLATION")")
        } else {
            Swift.print("summary: established=\(established.count) failed=\(failed.count) closed_by_server=\(closedByServer.count)")
        }

        // Stalled connections.
        let stalled = atEnd.filter { $0.role == .stalled }
        if !stalled.isEmpty {
            let up = stalled.filter { $0.established }
            let ended = up.filter { $0.stallEndSeen != nil }
            let after = ended.compactMap { s in s.stallEndAt.map { Double($0 - (s.stalledAt ?? $0)) / 1e9 } }.sorted()
            Swift.print(
                "stalled clients: \(up.count) of \(stalled.count) connected; dropped by the hub during the hold: \(ended.count)"
                    + groupCounts(ended.map { $0.stallEndSeen! })
                    + (after.isEmpty ? "" : String(format: ", %.1f s to %.1f s after they stopped reading", after.first!, after.last!)))
            let byIndex = Dictionary(uniqueKeysWithValues: resumed.map { ($0.index, $0) })
            let closedByHub = up.compactMap { s in hubSide[s.index].map { (s, $0) } }
            if !closedByHub.isEmpty {
                let after = closedByHub.map { s, end in Double(end.at - (s.stalledAt ?? end.at)) / 1e9 }.sorted()
                let unsent = closedByHub.map { $0.1.unsent }.sorted()
                Swift.print(
                    "stalled clients whose socket the hub closed (kernel view): \(closedByHub.count) of \(up.count)"
                        + groupCounts(closedByHub.map { $0.1.what })
                        + String(format: ", %.1f s to %.1f s after they stopped reading (±1 s)", after.first!, after.last!)
                        + "; bytes left unsent in the hub's kernel buffer \(unsent.first!)–\(unsent.last!)")
            } else if !up.isEmpty {
                Swift.print("stalled clients whose socket the hub closed (kernel view): none of \(up.count)")
            }
            let stillOpen = up.filter { $0.stallEndSeen == nil }
            if !stillOpen.isEmpty {
                var outcomes: [String] = []
                var backlog: [Int] = []
                for s in stillOpen {
                    guard let r = byIndex[s.index] else { continue }
                    backlog.append(r.payloadBytes - r.bytesAtResume)
                    if let code = r.closeCode, r.closedByServer {
                        outcomes.append("close frame \(code) queued behind the backlog")
                    } else if r.closedAt != nil {
                        outcomes.append("closed without close frame")
                    } else {
                        outcomes.append("still served")
                    }
                }
                backlog.sort()
                Swift.print(
                    "stalled clients still open at the end: \(stillOpen.count); after reading again for 3 s\(groupCounts(outcomes))"
                        + (backlog.isEmpty ? "" : "; backlog read \(backlog.first!)–\(backlog.last!) bytes"))
            }
        }
    }

    /// ` (a: 3, b: 1)` or "" when empty.
    func groupCounts(_ items: [String]) -> String {
        guard !items.isEmpty else { return "" }
        var counts: [String: Int] = [:]
        for item in items { counts[item, default: 0] += 1 }
        return " (" + counts.sorted { $0.value > $1.value }.prefix(6).map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
    }
}
