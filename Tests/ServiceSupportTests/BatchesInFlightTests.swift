import Synchronization
import Testing

@testable import ServiceSupport

@Suite("BatchesInFlight")
struct BatchesInFlightTests {
    struct Refused: Error {}

    final class Tally: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    /// How many batches run at once, at most.
    final class Overlap: Sendable {
        private let state = Mutex((running: 0, most: 0))
        func enter() {
            state.withLock {
                $0.running += 1
                $0.most = max($0.most, $0.running)
            }
        }
        func leave() { state.withLock { $0.running -= 1 } }
        var most: Int { state.withLock { $0.most } }
    }

    @Test func noMoreThanTheLimitRunAtOnce() async throws {
        let overlap = Overlap()
        var batches = BatchesInFlight(limit: 3)
        for _ in 0..<12 {
            try await batches.add {
                overlap.enter()
                defer { overlap.leave() }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await batches.finish()
        #expect(overlap.most == 3)
    }

    @Test func oneAtATimeOverlapsNothingButTheCallerWork() async throws {
        let overlap = Overlap()
        var batches = BatchesInFlight(limit: 1)
        for _ in 0..<5 {
            try await batches.add {
                overlap.enter()
                defer { overlap.leave() }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        try await batches.finish()
        #expect(overlap.most == 1)
    }

    @Test func finishWaitsForEveryBatchThenThrowsTheFirstError() async throws {
        let done = Tally()
        var batches = BatchesInFlight(limit: 3)
        try await batches.add { throw Refused() }
        try await batches.add {
            try await Task.sleep(for: .milliseconds(100))
            done.add()
        }
        await #expect(throws: Refused.self) { try await batches.finish() }
        // The slow batch was waited for, not left running behind the error.
        #expect(done.value == 1)
        try await batches.finish()
    }

    @Test func aFailedOldestBatchIsReportedWhenTheNextWaitsForIt() async throws {
        let started = Tally()
        var batches = BatchesInFlight(limit: 1)
        try await batches.add { throw Refused() }
        await #expect(throws: Refused.self) {
            try await batches.add { started.add() }
        }
        await batches.finishIgnoringErrors()
        #expect(started.value == 0)
    }
}
