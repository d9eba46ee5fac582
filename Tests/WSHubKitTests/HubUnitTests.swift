import AnalyticsCore
import NIOCore
import Testing
import WSHubKit

@Suite("Hub messages and client queues")
struct HubUnitTests {
    @Test func messagesAreEncodedAsPRODUCTSays() {
        let stats = Array(#"{"current_visitors":2,"unique_today":5,"timestamp":1}"#.utf8)
        #expect(String(buffer: HubMessages.initialStats(stats)) == #"{"type":"initial_stats","data":{"current_visitors":2,"unique_today":5,"timestamp":1}}"#)
        #expect(String(buffer: HubMessages.heartbeat(stats)).hasPrefix(#"{"type":"heartbeat","data":{"#))
        let one = ArraySlice(Array(#"{"event_type":"click","timestamp":5}"#.utf8))
        #expect(String(buffer: HubMessages.events([one])!) == #"{"type":"event","data":{"event_type":"click","timestamp":5}}"#)
        #expect(String(buffer: HubMessages.events([one, one])!)
            == #"{"type":"events","data":[{"event_type":"click","timestamp":5},{"event_type":"click","timestamp":5}]}"#)
        #expect(HubMessages.events([]) == nil)
    }

    @Test func updatesKeepPublicEventFieldsOnly() throws {
        let payload = Array(
            #"{"type":"batch","events":[{"event_type":"click","timestamp":1,"page":"/a"},{"event_type":"x","visitor_id":"v","timestamp":2},{"event_type":"cv_theme_view","timestamp":3,"theme":"t"},{"timestamp":4},"junk",{"event_type":"y","event_data":{"secret":1}}],"stats":{"current_visitors":1,"unique_today":1,"timestamp":9}}"#
                .utf8)
        let update = try #require(HubMessages.update(payload))
        #expect(update.events.map { String(decoding: $0, as: UTF8.self) } == [
            #"{"event_type":"click","timestamp":1,"page":"/a"}"#, #"{"event_type":"cv_theme_view","timestamp":3,"theme":"t"}"#,
        ])
        #expect(update.stats.map { String(decoding: $0, as: UTF8.self) } == #"{"current_visitors":1,"unique_today":1,"timestamp":9}"#)
        #expect(HubMessages.update(Array(#"{"type":"other"}"#.utf8)) == nil)
        #expect(HubMessages.update(Array("not json".utf8)) == nil)
        #expect(HubMessages.update(Array(#"{"type":"batch","events":[]}"#.utf8))?.events.isEmpty == true)
    }

    @Test func aClientQueueIsBoundedAndAFullQueueClosesTheClient() async {
        let client = HubClient(id: 1, capacity: 3)
        for i in 0..<3 { #expect(client.enqueue(ByteBuffer(string: "\(i)")) == .queued) }
        #expect(client.enqueue(ByteBuffer(string: "overflow")) == .overflowed)
        #expect(client.closeReason == .tooSlow)
        #expect(client.enqueue(ByteBuffer(string: "later")) == .closed)
        // A slow client writes nothing more.
        #expect(await client.next() == nil)
    }

    @Test func messagesComeOutInOrderAndAWaitingWriterIsWoken() async {
        let client = HubClient(id: 2, capacity: 10)
        client.enqueue(ByteBuffer(string: "a"))
        client.enqueue(ByteBuffer(string: "b"))
        #expect(await client.next().map { String(buffer: $0) } == "a")
        #expect(await client.next().map { String(buffer: $0) } == "b")
        let waiting = Task { await client.next().map { String(buffer: $0) } }
        try? await Task.sleep(for: .milliseconds(20))
        client.enqueue(ByteBuffer(string: "c"))
        #expect(await waiting.value == "c")
        let ending = Task { await client.next() }
        try? await Task.sleep(for: .milliseconds(20))
        client.finish()
        #expect(await ending.value == nil)
        #expect(client.enqueue(ByteBuffer(string: "d")) == .closed)
    }

    @Test func closingGoingAwayWakesTheWriter() async {
        let client = HubClient(id: 3, capacity: 10)
        let waiting = Task { await client.next() }
        try? await Task.sleep(for: .milliseconds(20))
        client.close(.goingAway)
        #expect(await waiting.value == nil)
        #expect(client.closeReason == .goingAway)
    }
}
