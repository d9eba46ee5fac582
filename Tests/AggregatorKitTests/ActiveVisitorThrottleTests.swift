import AggregatorKit
import Testing

/// The consumer-side memory of which visitors were written to the active-visitor set lately.
@Suite("ActiveVisitorThrottle")
struct ActiveVisitorThrottleTests {
    static let t: Int64 = 1_795_737_600_000

    /// Holds a throttle so that `#expect` can call its mutating methods (the macro takes its operand
    /// as an immutable value).
    final class Recorder {
        var throttle: ActiveVisitorThrottle
        init(granularityMilliseconds: Int64 = 1000, windowMilliseconds: Int64) {
            throttle = ActiveVisitorThrottle(granularityMilliseconds: granularityMilliseconds, windowMilliseconds: windowMilliseconds)
        }
        func record(_ visitor: String, at ms: Int64) -> Bool { throttle.shouldRecord(visitor, at: ms) }
        func prune(now: Int64) { throttle.prune(now: now) }
        func reset() { throttle.reset() }
        var count: Int { throttle.count }
    }

    @Test func defaults() {
        let throttle = ActiveVisitorThrottle(windowMilliseconds: 300_000)
        #expect(throttle.granularityMilliseconds == 5_000)
        #expect(throttle.windowMilliseconds == 300_000)
        #expect(ActiveVisitorThrottle(windowMilliseconds: 3_000).granularityMilliseconds == 50)
        #expect(throttle.count == 0)
    }

    @Test func aVisitorIsRecordedOncePerGranularity() {
        let throttle = Recorder(granularityMilliseconds: 1_000, windowMilliseconds: 300_000)
        let t = Self.t
        #expect(throttle.record("a", at: t))
        #expect(throttle.count == 1)
        #expect(!throttle.record("a", at: t))
        #expect(!throttle.record("a", at: t + 1))
        #expect(!throttle.record("a", at: t + 999))
        #expect(throttle.record("a", at: t + 1_000))  // exactly one granularity later
        // The reference moved to the new write, not to the skipped sightings.
        #expect(!throttle.record("a", at: t + 1_999))
        #expect(throttle.record("a", at: t + 2_000))
        #expect(throttle.count == 1)
    }

    @Test func anOlderSightingIsNeverRecorded() {
        // ZADD GT would ignore it anyway.
        let throttle = Recorder(windowMilliseconds: 300_000)
        #expect(throttle.record("a", at: Self.t))
        #expect(!throttle.record("a", at: Self.t - 1))
        #expect(!throttle.record("a", at: Self.t - 60_000))
    }

    @Test func visitorsAreIndependent() {
        let throttle = Recorder(windowMilliseconds: 300_000)
        #expect(throttle.record("a", at: Self.t))
        #expect(throttle.record("b", at: Self.t + 10))
        #expect(!throttle.record("a", at: Self.t + 20))
        #expect(!throttle.record("b", at: Self.t + 20))
        #expect(throttle.record("c", at: Self.t + 20))
        #expect(throttle.count == 3)
    }

    @Test func granularityIsConfigurable() {
        let fine = Recorder(granularityMilliseconds: 10, windowMilliseconds: 300_000)
        #expect(fine.record("a", at: Self.t))
        #expect(!fine.record("a", at: Self.t + 9))
        #expect(fine.record("a", at: Self.t + 10))

        // A granularity of zero records every sighting that is not older than the last one.
        let none = Recorder(granularityMilliseconds: 0, windowMilliseconds: 300_000)
        #expect(none.record("a", at: Self.t))
        #expect(none.record("a", at: Self.t))
        #expect(none.record("a", at: Self.t + 1))
        #expect(!none.record("a", at: Self.t))
    }

    @Test func pruneForgetsVisitorsWhoseWriteLeftTheWindow() {
        let throttle = Recorder(granularityMilliseconds: 1_000, windowMilliseconds: 5_000)
        let t = Self.t
        #expect(throttle.record("a", at: t))
        #expect(throttle.record("b", at: t + 3_000))
        throttle.prune(now: t + 4_999)  // a's write is still inside the window
        #expect(throttle.count == 2)
        #expect(!throttle.record("a", at: t + 500))

        // Pruning is itself throttled to once per granularity: one more millisecond changes nothing yet.
        throttle.prune(now: t + 5_000)
        #expect(throttle.count == 2)

        throttle.prune(now: t + 6_000)  // cutoff t + 1000: a (t) is out, b (t + 3000) stays
        #expect(throttle.count == 1)
        // A forgotten visitor is written again, even within the granularity of its old write.
        #expect(throttle.record("a", at: t + 500))
        #expect(!throttle.record("b", at: t + 3_500))

        throttle.prune(now: t + 100_000)
        #expect(throttle.count == 0)
        #expect(throttle.record("b", at: t + 3_500))
    }

    @Test func aWriteExactlyAtTheCutoffIsForgotten() {
        // The script removes scores up to now - window inclusive: so must the throttle.
        let throttle = Recorder(granularityMilliseconds: 1_000, windowMilliseconds: 5_000)
        #expect(throttle.record("a", at: Self.t))
        #expect(throttle.record("b", at: Self.t + 1))
        throttle.prune(now: Self.t + 5_000)
        #expect(throttle.count == 1)
        #expect(throttle.record("a", at: Self.t + 10))
        #expect(!throttle.record("b", at: Self.t + 10))
    }

    @Test func resetForgetsEverything() {
        let throttle = Recorder(windowMilliseconds: 300_000)
        for (i, visitor) in ["a", "b", "c"].enumerated() {
            #expect(throttle.record(visitor, at: Self.t + Int64(i)))
        }
        #expect(throttle.count == 3)
        throttle.reset()
        #expect(throttle.count == 0)
        #expect(throttle.record("a", at: Self.t + 5))
        #expect(throttle.record("b", at: Self.t + 5))
        #expect(!throttle.record("a", at: Self.t + 6))
        #expect(throttle.count == 2)
    }

    @Test func manyVisitors() {
        let throttle = Recorder(windowMilliseconds: 60_000)
        for i in 0..<10_000 {
            #expect(throttle.record("v\(i)", at: Self.t + Int64(i)), "first sighting of v\(i)")
        }
        #expect(throttle.count == 10_000)
        // 10 seconds later, v0…v9999 were written between 0 and 9.999 s ago: prune keeps them all.
        throttle.prune(now: Self.t + 10_000)
        #expect(throttle.count == 10_000)
        throttle.prune(now: Self.t + 65_000)  // cutoff t + 5000: v0…v5000 leave
        #expect(throttle.count == 4_999)
    }
}
