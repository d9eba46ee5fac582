import AnalyticsCore
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import GatewayKit

/// The ingest script run on many events at once, against a real Redis: what each event is answered
/// must not depend on which others shared its run.
@Suite("Ingest batches against a real Redis")
struct IngestBatcherTests {
    static func event(_ id: UUID = UUID()) -> AnalyticsEvent {
        AnalyticsEvent(
            id: id, visitorID: UUID(), eventType: "click", eventData: "{}", pageURL: nil, referrer: nil,
            createdAt: EpochClock.milliseconds())
    }

    /// Publishes every event at once, so that they share runs of the script.
    static func publishAll(
        _ publisher: EventPublisher, _ events: [AnalyticsEvent], client: String? = "client", idChosenByClient: Bool = false
    ) async -> [Result<EventPublisher.Outcome, EventPublisher.Failure>] {
        await withTaskGroup(of: (Int, Result<EventPublisher.Outcome, EventPublisher.Failure>).self) { group in
            for (i, event) in events.enumerated() {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        publisher.publish(event, client: client, idChosenByClient: idChosenByClient) {
                            continuation.resume(returning: (i, $0))
                        }
                    }
                }
            }
            var results = [Result<EventPublisher.Outcome, EventPublisher.Failure>?](repeating: nil, count: events.count)
            for await (i, result) in group { results[i] = result }
            return results.map { $0! }
        }
    }

    /// A throwaway Redis and a client of it, stopped after `body`.
    static func withRedis(_ body: (RedisClient) async throws -> Void) async throws {
        let server = try await RedisServer()
        let redis = server.client()
        do {
            try await body(redis)
        } catch {
            await redis.shutdown()
            await server.stop()
            throw error
        }
        await redis.shutdown()
        await server.stop()
    }

    @Test func eventsSentTogetherShareOneBudgetExactly() async throws {
        try await Self.withRedis { redis throws in
            let keyspace = RedisKeyspace(prefix: "batch")
            let publisher = EventPublisher(redis: redis, keyspace: keyspace, limits: .init(ratePerMinute: 20))
            let results = await Self.publishAll(publisher, (0..<200).map { _ in Self.event() })
            let added = results.filter { if case .success(.added) = $0 { true } else { false } }.count
            let limited = results.filter { if case .failure(.rateLimited) = $0 { true } else { false } }.count
            #expect(added == 20)
            #expect(limited == 180)
            #expect(try await redis.send("XLEN", keyspace.stream).int == 20)
            // They went in shared runs of the script, not one run each.
            let stats = try await redis.send("INFO", "commandstats").string ?? ""
            let runs = stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_evalsha:") }
                .flatMap { $0.split(separator: "calls=").last?.split(separator: ",").first }.flatMap { Int($0) }
            #expect(runs.map { $0 < 100 } == true, "runs of the script: \(runs ?? -1)")
            // Another client has a budget of its own.
            let other = await Self.publishAll(publisher, [Self.event()], client: "other")
            #expect((try? other[0].get())?.entryID != nil)
        }
    }

    @Test func anIdSentTwiceInOneBatchIsAddedOnceAndBothAreAnsweredWithItsEntry() async throws {
        try await Self.withRedis { redis throws in
            let keyspace = RedisKeyspace(prefix: "batch")
            let publisher = EventPublisher(redis: redis, keyspace: keyspace)
            let id = UUID()
            let events = (0..<40).map { i in Self.event(i.isMultiple(of: 4) ? id : UUID()) }
            let results = await Self.publishAll(publisher, events, idChosenByClient: true)
            let entries = results.compactMap { try? $0.get() }
            #expect(entries.count == 40)
            let forTheId = zip(events, entries).filter { $0.0.id == id }.map(\.1)
            #expect(Set(forTheId.map(\.entryID)).count == 1)
            #expect(forTheId.filter { if case .added = $0 { true } else { false } }.count == 1)
            #expect(try await redis.send("XLEN", keyspace.stream).int == 31)
        }
    }

    @Test func pastTheCeilingEveryEventOfTheBatchIsRefusedAndNoneIsTrimmed() async throws {
        try await Self.withRedis { redis throws in
            let keyspace = RedisKeyspace(prefix: "batch")
            let publisher = EventPublisher(redis: redis, keyspace: keyspace, limits: .init(streamMaxEvents: 25))
            let results = await Self.publishAll(publisher, (0..<100).map { _ in Self.event() }, client: nil)
            #expect(results.filter { (try? $0.get()) != nil }.count == 25)
            #expect(results.filter { $0 == .failure(.streamFull) }.count == 75)
            #expect(try await redis.send("XLEN", keyspace.stream).int == 25)
        }
    }

    @Test func anEntryRedisRefusesFailsAloneAndTheOthersOfTheRunStayAdded() async throws {
        try await Self.withRedis { redis throws in
            // The second event's fields are odd in number: its XADD is refused.
            let keys = ["s", "r1", "i1", "r2", "i2", "r3", "i3"]
            let arguments = ["60000000", "100", "0", "0", "2", "a", "1", "0", "0", "1", "b", "0", "0", "2", "c", "3"]
            let reply = await withCheckedContinuation { continuation in
                IngestScript.shared.run(on: redis, keys: keys, arguments: arguments) { continuation.resume(returning: $0) }
            }
            let outcomes = EventPublisher.outcomes(from: reply, count: 3)
            #expect((try? outcomes[0].get()) != nil)
            guard case .failure(.unavailable(let message)) = outcomes[1] else {
                Issue.record("the refused entry was answered \(outcomes[1])")
                return
            }
            #expect(message.lowercased().contains("wrong number"))
            #expect((try? outcomes[2].get()) != nil)
            #expect(try await redis.send("XLEN", "s").int == 2)
        }
    }

    @Test func aFailedRunFailsEachOfItsEventsTheSameWay() {
        let lost = EventPublisher.outcomes(from: .failure(RedisError.connectionLost("reset")), count: 3)
        #expect(lost == Array(repeating: .failure(.inDoubt("reset")), count: 3))
        let short = EventPublisher.outcomes(from: .success(.array([.bulk(Array("added".utf8))])), count: 2)
        #expect(short.allSatisfy { if case .failure(.unavailable) = $0 { true } else { false } })
    }
}
