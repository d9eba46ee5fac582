import AggregatorKit
import AnalyticsCore
import Foundation
import Logging
import RedisClient
import ServiceSupport
import TestSupport
import Testing

/// The aggregator's batch application against a real, throwaway Redis.
@Suite("Aggregator against a real Redis")
struct AggregatorIntegrationTests {
    let keyspace = RedisKeyspace(prefix: "analytics")
    let ids = UUIDv7Generator()

    final class Harness: Sendable {
        let server: RedisServer
        let redis: RedisClient
        let processor: AggregationProcessor
        /// The loop around `processor`, claiming entries as soon as they are pending.
        let consumer: StreamConsumer
        let keyspace: RedisKeyspace

        init(consumerName: String = "test-consumer", activeWindowSeconds: Int = 300, server: RedisServer? = nil) async throws {
            let server = if let server { server } else { try await RedisServer() }
            self.server = server
            redis = server.client(name: "harness")
            keyspace = RedisKeyspace()
            let registry = MetricsRegistry(namespace: "maicivy")
            let stream = StreamGroupReader(group: .aggregator, consumer: consumerName, keyspace: keyspace, reader: redis, writer: redis)
            processor = AggregationProcessor(
                settings: .init(keyspace: keyspace, activeWindowSeconds: activeWindowSeconds), stream: stream,
                metrics: AggregatorMetrics(registry: registry),
                health: StreamHealth(redis: redis, keyspace: keyspace, registry: registry), logger: Logger(label: "test"))
            var settings = AggregationProcessor.consumerSettings
            settings.claimIdle = .milliseconds(0)
            consumer = StreamConsumer(
                stream: stream, processor: processor, settings: settings, registry: registry, logger: Logger(label: "test"))
        }

        func publish(_ events: [AnalyticsEvent]) async throws {
            var commands: [RedisCommand] = []
            for event in events {
                var command = RedisCommand("XADD", keyspace.stream, "*")
                command.append(contentsOf: StreamEntryCodec.fields(of: event))
                commands.append(command)
            }
            for chunk in stride(from: 0, to: commands.count, by: 2000) {
                _ = try await redis.pipeline(Array(commands[chunk..<min(chunk + 2000, commands.count)]))
            }
        }

        /// Reads up to `count` new entries for `consumer` without applying them (as a consumer that
        /// then crashes would).
        func deliver(to consumer: String, count: Int = 10_000) async throws -> [RedisStreamEntry] {
            try RedisStreamEntry.fromRead(
                try await redis.send(
                    "XREADGROUP", "GROUP", ConsumerGroup.aggregator.name, consumer, "COUNT", String(count), "STREAMS", keyspace.stream, ">")
            )
        }

        func createGroup() async throws {
            _ = try await redis.pipeline([RedisCommand("XGROUP", "CREATE", keyspace.stream, ConsumerGroup.aggregator.name, "0", "MKSTREAM")]
            )
        }

        func counter(_ key: String) async throws -> Int {
            try await redis.send("GET", key).int ?? 0
        }

        func pending() async throws -> Int {
            try await redis.send("XPENDING", keyspace.stream, ConsumerGroup.aggregator.name).array?.first?.int ?? -1
        }

        deinit {
            let redis = self.redis
            Task { await redis.shutdown() }
        }
    }

    func event(_ type: String = "click", visitor: UUID = UUID(), data: String = "{}", at ms: Int64 = EpochClock.milliseconds())
        -> AnalyticsEvent
    {
        AnalyticsEvent(
            id: ids.next(), visitorID: visitor, eventType: type, eventData: data, pageURL: "https://site.test/a?q=1", createdAt: ms)
    }

    /// The consumer skips visitors it already added to a day's HyperLogLogs; a Redis that restarted
    /// empty (no persistence) has lost them, and they must be added again.
    @Test func aRestartedRedisGetsTheKnownVisitorsAgain() async throws {
        let h = try await Harness()
        let bucket = TimeBucket(epochMilliseconds: EpochClock.milliseconds())
        let day = keyspace.uniqueVisitors(.day, bucket.dayName)
        let week = keyspace.uniqueVisitors(.week, bucket.weekName)
        let alice = UUID()
        let bob = UUID()
        try await h.createGroup()
        try await h.publish([event(visitor: alice), event(visitor: bob)])
        #expect(try await h.processor.apply(try await h.deliver(to: "test-consumer")).applied == [true, true])
        #expect(try await h.redis.send("PFCOUNT", day).int == 2)
        // Seen again on the same connection: nothing to add, the count stays right.
        try await h.publish([event(visitor: alice)])
        #expect(try await h.processor.apply(try await h.deliver(to: "test-consumer")).applied == [true])
        #expect(try await h.redis.send("PFCOUNT", day).int == 2)

        await h.server.stop()
        try await h.server.start()
        #expect(await eventually(timeout: .seconds(10)) { (try? await h.redis.send("PING")) != nil })
        #expect(try await h.redis.send("EXISTS", day).int == 0)
        try await h.createGroup()
        try await h.publish([event(visitor: alice), event(visitor: bob)])
        #expect(try await h.processor.apply(try await h.deliver(to: "test-consumer")).applied == [true, true])
        #expect(try await h.redis.send("PFCOUNT", day).int == 2)
        #expect(try await h.redis.send("PFCOUNT", week).int == 2)
    }

    @Test func appliesABatchToEveryAggregate() async throws {
        let h = try await Harness()
        let now = EpochClock.milliseconds()
        let bucket = TimeBucket(epochMilliseconds: now)
        let alice = UUID()
        let bob = UUID()
        try await h.publish([
            event("pageview", visitor: alice, at: now),
            event("cv_theme_view", visitor: alice, data: #"{"theme":"backend"}"#, at: now),
            event("cv_theme_view", visitor: bob, data: #"{"theme":"backend"}"#, at: now),
            event("cv_theme_view", visitor: bob, data: #"{"theme":"devops"}"#, at: now),
            event("letter_generated", visitor: bob, data: #"{"type":"anti_motivation"}"#, at: now),
        ])
        try await h.createGroup()
        let outcome = try await h.processor.apply(try await h.deliver(to: "test-consumer"))
        #expect(outcome.applied == [true, true, true, true, true])
        #expect(outcome.newUniqueVisitors == 2)
        #expect(outcome.currentVisitors == 2)
        #expect(outcome.uniqueToday == 2)

        for period in Period.allCases {
            let name = bucket.name(of: period)
            #expect(try await h.counter(keyspace.totalEvents(period, name)) == 5)
            #expect(try await h.counter(keyspace.lettersGenerated(period, name)) == 1)
            #expect(try await h.redis.send("PFCOUNT", keyspace.uniqueVisitors(period, name)).int == 2)
        }
        let themes = try await h.redis.send("ZREVRANGE", keyspace.topThemes, "0", "-1", "WITHSCORES").array?.compactMap(\.string)
        #expect(themes == ["backend", "2", "devops", "1"])
        #expect(try await h.pending() == 0)
    }

    @Test func aBatchDeliveredAgainIsCountedOnce() async throws {
        let h = try await Harness()
        try await h.publish((0..<50).map { _ in event() })
        try await h.createGroup()
        let batch = try await h.deliver(to: "test-consumer")
        let first = try await h.processor.apply(batch)
        let second = try await h.processor.apply(batch)
        #expect(first.appliedCount == 50)
        #expect(second.appliedCount == 0)
        #expect(second.applied.count == 50)
        let day = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).dayName
        #expect(try await h.counter(keyspace.totalEvents(.day, day)) == 50)
    }

    @Test func pendingEntriesOfACrashedRunAreRecoveredOnce() async throws {
        let h = try await Harness()
        try await h.publish((0..<30).map { _ in event() })
        try await h.createGroup()
        // A first run reads the entries and dies before applying them.
        let delivered = try await h.deliver(to: "test-consumer")
        #expect(delivered.count == 30)
        #expect(try await h.pending() == 30)
        // A half-applied past is impossible: apply ten of them, as a run that crashed after one batch.
        try await h.processor.apply(Array(delivered.prefix(10)))
        // The restarted consumer (same name) re-reads its pending list and counts only the other 20.
        let restarted = try await Harness(server: h.server)
        let run = Task { try await restarted.consumer.run() }
        defer { run.cancel() }
        let day = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).dayName
        #expect(await eventually { (try? await h.counter(keyspace.totalEvents(.day, day))) == 30 })
        #expect(try await h.pending() == 0)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await h.counter(keyspace.totalEvents(.day, day)) == 30)
    }

    @Test func entriesOfADeadConsumerAreClaimedAndCountedOnce() async throws {
        let h = try await Harness()
        try await h.publish((0..<40).map { _ in event() })
        try await h.createGroup()
        let stuck = try await h.deliver(to: "dead-consumer")
        #expect(stuck.count == 40)
        // The dead consumer had applied the first 15 before it died.
        try await h.processor.apply(Array(stuck.prefix(15)))
        let run = Task { try await h.consumer.run() }
        defer { run.cancel() }
        let day = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).dayName
        #expect(await eventually { (try? await h.pending()) == 0 })
        #expect(try await h.counter(keyspace.totalEvents(.day, day)) == 40)
    }

    @Test func periodKeysExpireAfterTheirRetention() async throws {
        let h = try await Harness()
        let now = EpochClock.milliseconds()
        try await h.publish([event("letter_generated", data: #"{"type":"motivation"}"#, at: now)])
        try await h.createGroup()
        try await h.processor.apply(try await h.deliver(to: "test-consumer"))
        let bucket = TimeBucket(epochMilliseconds: now)
        for period in Period.allCases {
            // TTLs count from when they are read.
            let expected = AggregateRetention.expiry(of: bucket, period) - EpochClock.milliseconds() / 1000
            for key in [
                keyspace.totalEvents(period, bucket.name(of: period)), keyspace.lettersGenerated(period, bucket.name(of: period)),
                keyspace.uniqueVisitors(period, bucket.name(of: period)),
            ] {
                let ttl = try #require(try await h.redis.send("TTL", key).int)
                #expect(abs(ttl - Int(expected)) <= 2, "\(key): TTL \(ttl), expected \(expected)")
            }
        }
        let dayTTL = try #require(try await h.redis.send("TTL", keyspace.totalEvents(.day, bucket.dayName)).int)
        #expect(dayTTL > 90 * 86_400 && dayTTL <= 91 * 86_400)
        // The active-visitor set has no TTL that traffic would keep refreshing (seed defect 5).
        #expect(try await h.redis.send("TTL", keyspace.activeVisitors).int == -1)
    }

    @Test func eventsAreBucketedByTheirOwnUTCDay() async throws {
        let h = try await Harness()
        // 2026-12-31T23:59:59.999Z and 2027-01-01T00:00:00.000Z: two days, one ISO week (2026-W53), two months.
        let lastOf2026: Int64 = Int64(CivilDate(year: 2027, month: 1, day: 1).daysSinceEpoch) * 86_400_000 - 1
        try await h.publish([event(at: lastOf2026), event(at: lastOf2026 + 1), event(at: lastOf2026 + 2)])
        try await h.createGroup()
        try await h.processor.apply(try await h.deliver(to: "test-consumer"))
        #expect(try await h.counter(keyspace.totalEvents(.day, "2026-12-31")) == 1)
        #expect(try await h.counter(keyspace.totalEvents(.day, "2027-01-01")) == 2)
        #expect(try await h.counter(keyspace.totalEvents(.week, "2026-W53")) == 3)
        #expect(try await h.counter(keyspace.totalEvents(.month, "2026-12")) == 1)
        #expect(try await h.counter(keyspace.totalEvents(.month, "2027-01")) == 2)
    }

    @Test func theActiveWindowShrinksWithoutTraffic() async throws {
        let h = try await Harness(activeWindowSeconds: 5)
        let stats = { () async throws -> Int in try await h.redis.send("ZCARD", keyspace.activeVisitors).int ?? -1 }
        try await h.publish([event(), event(), event()])
        try await h.createGroup()
        let outcome = try await h.processor.apply(try await h.deliver(to: "test-consumer"))
        #expect(outcome.currentVisitors == 3)
        #expect(try await stats() == 3)
        // An old event never makes its visitor current.
        try await h.publish([event(at: EpochClock.milliseconds() - 10_000)])
        #expect(try await h.processor.apply(try await h.deliver(to: "test-consumer")).currentVisitors == 3)
        // Members older than the window really leave, with no new event to trigger it.
        let run = Task { try await h.consumer.run() }
        defer { run.cancel() }
        #expect(await eventually(timeout: .seconds(20)) { (try? await stats()) == 0 })
    }

    @Test func uniqueVisitorsAreWithinTwoPercentOn100kVisitors() async throws {
        let h = try await Harness()
        let now = EpochClock.milliseconds()
        // Seeded visitor ids: the estimate is the same on every run, not a fresh draw that lands
        // past the bound once in a few hundred runs.
        var state: UInt64 = 0x2026_1205
        func splitMix() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let visitors = (0..<100_000).map { _ in
            withUnsafeBytes(of: (splitMix(), splitMix())) { UUID(uuid: $0.load(as: uuid_t.self)) }
        }
        try await h.publish(visitors.map { event(visitor: $0, at: now) })
        try await h.createGroup()
        var applied = 0
        while applied < 100_000 {
            let batch = try await h.deliver(to: "test-consumer", count: 5000)
            applied += try await h.processor.apply(batch).appliedCount
        }
        let day = TimeBucket(epochMilliseconds: now).dayName
        #expect(try await h.counter(keyspace.totalEvents(.day, day)) == 100_000)
        let estimate = try #require(try await h.redis.send("PFCOUNT", keyspace.uniqueVisitors(.day, day)).int)
        #expect(abs(estimate - 100_000) <= 2_000, "HyperLogLog estimate \(estimate)")
    }

    @Test func undecodableAndTrimmedEntriesGoToTheDeadLetterStream() async throws {
        let h = try await Harness()
        try await h.createGroup()
        try await h.redis.send("XADD", keyspace.stream, "*", "garbage", "1")
        try await h.publish([event()])
        let delivered = try await h.deliver(to: "test-consumer")
        let outcome = try await h.processor.apply(delivered)
        #expect(outcome.appliedCount == 1)
        #expect(try await h.pending() == 0)
        let dead = try RedisStreamEntry.list(from: try await h.redis.send("XRANGE", keyspace.deadLetters, "-", "+"))
        #expect(dead.count == 1)
        #expect(dead.first?.fields?.first { $0.0 == "entry" }?.1 == delivered[0].id)
        #expect(dead.first?.fields?.first { $0.0 == "reason" }?.1.contains("undecodable") == true)
    }

    @Test func publishesACompactUpdateWithoutVisitorData() async throws {
        let h = try await Harness()
        let subscriber = try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/redis-cli"),
            arguments: ["-p", String(h.server.port), "SUBSCRIBE", keyspace.realtimeChannel], logDirectory: h.server.directory.url,
            name: "subscriber")
        #expect(await eventually { subscriber.output.contains("subscribe") })
        let visitor = UUID()
        try await h.publish([event("cv_theme_view", visitor: visitor, data: #"{"theme":"backend","secret":"s3"}"#)])
        try await h.createGroup()
        try await h.processor.apply(try await h.deliver(to: "test-consumer"))
        #expect(await eventually { subscriber.output.contains(#""type":"batch""#) })
        let message = subscriber.output
        #expect(message.contains(#""event_type":"cv_theme_view""#))
        #expect(message.contains(#""theme":"backend""#))
        #expect(message.contains(#""page":"/a""#))
        #expect(!message.contains(visitor.lowercasedString))
        #expect(!message.contains("s3"))
        #expect(!message.contains("q=1"))
    }
}
