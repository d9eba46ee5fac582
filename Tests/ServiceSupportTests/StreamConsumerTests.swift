import AnalyticsCore
import Logging
import RedisClient
import ServiceLifecycle
import ServiceSupport
import Synchronization
import TestSupport
import Testing

/// The consumer loop against a real, throwaway Redis, with a processor that records what it is
/// given and acknowledges it (as the aggregator's and the archiver's do).
@Suite("StreamConsumer against a real Redis")
struct StreamConsumerTests {
    /// Records the entries it processes, in order; fails on demand; acknowledges what it processed.
    final class RecordingProcessor: StreamBatchProcessor {
        let stream: StreamGroupReader
        private let state = Mutex((processed: [String](), failuresLeft: 0, housekeeping: 0, running: 0, mostRunning: 0, started: 0))
        let delay: Duration

        init(stream: StreamGroupReader, failures: Int = 0, delay: Duration = .zero) {
            self.stream = stream
            self.delay = delay
            state.withLock { $0.failuresLeft = failures }
        }

        struct Refused: Error {}

        func process(_ entries: [RedisStreamEntry]) async throws {
            let fail = state.withLock { state -> Bool in
                state.running += 1
                state.started += 1
                state.mostRunning = max(state.mostRunning, state.running)
                guard state.failuresLeft > 0 else { return false }
                state.failuresLeft -= 1
                return true
            }
            defer { state.withLock { $0.running -= 1 } }
            if fail { throw Refused() }
            if delay > .zero { try await Task.sleep(for: delay) }
            try await stream.acknowledge(entries.map(\.id))
            state.withLock { $0.processed += entries.map { $0.fields?.first { $0.0 == "n" }?.1 ?? "?" } }
        }

        func housekeeping() async throws {
            state.withLock { $0.housekeeping += 1 }
        }

        var processed: [String] { state.withLock { $0.processed } }
        var housekeepingRuns: Int { state.withLock { $0.housekeeping } }
        var mostRunning: Int { state.withLock { $0.mostRunning } }
        var running: Int { state.withLock { $0.running } }
    }

    final class Harness: Sendable {
        let server: RedisServer
        let redis: RedisClient
        /// Blocking reads apart, as in the services: a read held open must not delay the writes.
        let reader: RedisClient
        let keyspace = RedisKeyspace(prefix: "consumer-test")
        let registry = MetricsRegistry(namespace: "test")

        init() async throws {
            server = try await RedisServer()
            redis = server.client(name: "harness")
            reader = server.client(name: "reader")
        }

        func stream(consumer: String = "c1") -> StreamGroupReader {
            StreamGroupReader(group: .archiver, consumer: consumer, keyspace: keyspace, reader: reader, writer: redis)
        }

        func consumer(_ processor: RecordingProcessor, adjust: (inout StreamConsumer.Settings) -> Void = { _ in }) -> StreamConsumer {
            var settings = StreamConsumer.Settings(batchSize: 10, readyStatus: "testing")
            settings.block = .milliseconds(100)
            settings.timing = .init(claimInterval: .milliseconds(200), housekeepingInterval: .milliseconds(100))
            adjust(&settings)
            return StreamConsumer(
                stream: processor.stream, processor: processor, settings: settings, registry: registry,
                liveness: Liveness(notifier: nil), logger: Logger(label: "consumer-test"))
        }

        /// Adds entries numbered `range` (field `n`).
        func publish(_ range: Range<Int>) async throws {
            _ = try await redis.checkedPipeline(range.map { RedisCommand("XADD", keyspace.stream, "*", "n", String($0)) })
        }

        /// Delivers up to `count` new entries to `consumer` without processing them, as a consumer
        /// that then dies would.
        func deliver(to consumer: String, count: Int) async throws -> [RedisStreamEntry] {
            try await stream(consumer: consumer).read(count: count)
        }

        func pending() async throws -> Int {
            try await redis.send("XPENDING", keyspace.stream, ConsumerGroup.archiver.name).array?.first?.int ?? -1
        }

        /// Runs `consumer` in a service group until `until` holds, then stops it gracefully.
        func run(_ consumer: StreamConsumer, until condition: @Sendable () async -> Bool) async throws -> Bool {
            let group = ServiceGroup(services: [consumer], logger: Logger(label: "consumer-test"))
            let running = Task { try await group.run() }
            let reached = await eventually(timeout: .seconds(15), condition)
            await group.triggerGracefulShutdown()
            try await running.value
            return reached
        }

        deinit {
            let clients = [redis, reader]
            Task { for client in clients { await client.shutdown() } }
        }
    }

    @Test func itsOwnPendingEntriesAreProcessedBeforeNewOnes() async throws {
        let h = try await Harness()
        try await h.publish(0..<5)
        try await h.stream().ensureGroup()
        // A first life read five entries and died before processing them.
        #expect(try await h.deliver(to: "c1", count: 5).count == 5)
        try await h.publish(5..<8)
        let processor = RecordingProcessor(stream: h.stream(consumer: "c1"))
        #expect(try await h.run(h.consumer(processor)) { processor.processed.count == 8 })
        #expect(processor.processed == (0..<8).map(String.init))
        #expect(try await h.pending() == 0)
    }

    @Test func entriesAbandonedByADeadConsumerAreClaimedOnce() async throws {
        let h = try await Harness()
        try await h.publish(0..<25)
        try await h.stream().ensureGroup()
        #expect(try await h.deliver(to: "dead", count: 25).count == 25)
        let processor = RecordingProcessor(stream: h.stream(consumer: "alive"))
        let consumer = h.consumer(processor) { $0.claimIdle = .milliseconds(300) }
        #expect(try await h.run(consumer) { processor.processed.count == 25 })
        #expect(Set(processor.processed).count == 25)
        #expect(try await h.pending() == 0)
    }

    @Test func housekeepingRunsAtItsInterval() async throws {
        let h = try await Harness()
        let processor = RecordingProcessor(stream: h.stream())
        let start = ContinuousClock.now
        #expect(try await h.run(h.consumer(processor)) { processor.housekeepingRuns >= 5 })
        // Every 100 ms: five runs take at least 400 ms.
        #expect(ContinuousClock.now - start >= .milliseconds(400))
    }

    @Test func aFailedBatchIsRecoveredFromThePendingListAndProcessedOnce() async throws {
        let h = try await Harness()
        try await h.stream().ensureGroup()
        try await h.publish(0..<30)
        let processor = RecordingProcessor(stream: h.stream(), failures: 2)
        #expect(try await h.run(h.consumer(processor)) { processor.processed.count == 30 })
        #expect(processor.processed.sorted() == (0..<30).map(String.init).sorted())
        #expect(try await h.pending() == 0)
        let metrics = String(decoding: h.registry.exposition(), as: UTF8.self)
        #expect(metrics.contains(#"analytics_consumer_errors_total{group="archiver"} 2"#))
    }

    @Test func aStopProcessesWhatWasReadThenReturns() async throws {
        let h = try await Harness()
        try await h.stream().ensureGroup()
        let processor = RecordingProcessor(stream: h.stream(), delay: .seconds(1))
        let consumer = h.consumer(processor)
        let group = ServiceGroup(services: [consumer], logger: Logger(label: "consumer-test"))
        let running = Task { try await group.run() }
        try await h.publish(0..<10)
        // Stop while the batch is being processed: it is finished and acknowledged first.
        #expect(await eventually { processor.running == 1 })
        #expect(try await h.pending() == 10)
        let stopAt = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(ContinuousClock.now - stopAt < .seconds(3))
        #expect(processor.processed.count == 10)
        #expect(try await h.pending() == 0)
    }

    @Test func batchesRunSideBySideUpToTheLimit() async throws {
        let h = try await Harness()
        try await h.stream().ensureGroup()
        try await h.publish(0..<100)
        let processor = RecordingProcessor(stream: h.stream(), delay: .milliseconds(50))
        let consumer = h.consumer(processor) { $0.batchesInFlight = 3 }
        #expect(try await h.run(consumer) { processor.processed.count == 100 })
        #expect(processor.mostRunning == 3)
        #expect(Set(processor.processed).count == 100)
    }

    @Test func gatheringFillsABatchFromSeveralReads() async throws {
        let h = try await Harness()
        try await h.stream().ensureGroup()
        final class SizeRecorder: StreamBatchProcessor {
            let inner: RecordingProcessor
            let sizes = Mutex<[Int]>([])
            init(_ inner: RecordingProcessor) { self.inner = inner }
            func process(_ entries: [RedisStreamEntry]) async throws {
                sizes.withLock { $0.append(entries.count) }
                try await inner.process(entries)
            }
            func housekeeping() async throws {}
        }
        let recorder = SizeRecorder(RecordingProcessor(stream: h.stream()))
        var settings = StreamConsumer.Settings(batchSize: 10, readyStatus: "testing")
        settings.block = .milliseconds(100)
        settings.gathering = .milliseconds(500)
        let consumer = StreamConsumer(
            stream: h.stream(), processor: recorder, settings: settings, registry: h.registry, liveness: Liveness(notifier: nil),
            logger: Logger(label: "consumer-test"))
        let group = ServiceGroup(services: [consumer], logger: Logger(label: "consumer-test"))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(300))
        // Entries arriving one by one within the gathering time make one batch.
        for n in 0..<6 {
            try await h.publish(n..<(n + 1))
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await eventually { recorder.inner.processed.count == 6 })
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(recorder.sizes.withLock { $0 } == [6])
    }
}
