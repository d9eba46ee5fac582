import AggregatorKit
import Testing

@Suite("KnownDayVisitors")
struct KnownDayVisitorsTests {
    @Test func remembersVisitorsPerDay() {
        var known = KnownDayVisitors()
        #expect(!known.contains("a", day: 100))
        known.record(["a", "b"], day: 100)
        known.record(["b", "c"], day: 100)
        #expect(known.contains("a", day: 100) && known.contains("b", day: 100) && known.contains("c", day: 100))
        #expect(!known.contains("a", day: 101))
        #expect(known.count == 3)
    }

    @Test func daysOlderThanTheNewestByMoreThanDaysKeptAreForgotten() {
        var known = KnownDayVisitors(daysKept: 1)
        known.record(["a"], day: 100)
        known.record(["b"], day: 101)
        #expect(known.contains("a", day: 100))  // yesterday is kept (events arrive late)
        known.record(["c"], day: 102)
        #expect(!known.contains("a", day: 100))
        #expect(known.contains("b", day: 101) && known.contains("c", day: 102))
        #expect(known.count == 2)
        // A late event of a forgotten day is not remembered: it is simply added again next time.
        known.record(["a"], day: 100)
        #expect(!known.contains("a", day: 100))
        #expect(known.count == 2)
    }

    @Test func startsAfreshAboveItsCapacity() {
        var known = KnownDayVisitors(capacity: 3)
        known.record(["a", "b", "c"], day: 1)
        #expect(known.count == 3)
        known.record(["d"], day: 1)
        #expect(known.count == 0)
        #expect(!known.contains("a", day: 1))
    }

    @Test func resetForgetsEverything() {
        var known = KnownDayVisitors()
        known.record(["a"], day: 1)
        known.reset()
        #expect(!known.contains("a", day: 1))
        #expect(known.count == 0)
    }
}
