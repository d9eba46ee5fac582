import AnalyticsCore
import Foundation
import Testing

@testable import ArchiverKit

@Suite("Rollup batches")
struct RollupBatchTests {
    /// 2026-11-27T23:59:59.999Z and the next millisecond, the first of 2026-11-28.
    static let lastOfDay: Int64 = 1_795_823_999_999

    static func hash(_ visitor: UUID) -> Int64 { Int64(bitPattern: VisitorSketch.hash(visitor)) }

    static func event(_ ms: Int64, _ visitor: UUID, type: String = "pageview", path: String = "/") -> AnalyticsEvent {
        var dimensions = EventDimensions()
        dimensions.path = path
        return AnalyticsEvent(id: UUID(), visitorID: visitor, eventType: type, createdAt: ms, dimensions: dimensions)
    }

    @Test func eventsAreCountedInTheirUTCHourAndDayWithDistinctVisitors() {
        let a = UUID()
        let b = UUID()
        let batch = RollupBatch([
            Self.event(Self.lastOfDay, a), Self.event(Self.lastOfDay - 1, a, type: "signup"), Self.event(Self.lastOfDay + 1, b),
        ])
        let hours = batch.sortedHours
        #expect(hours.map(\.start) == [(Self.lastOfDay + 1) / 1000 - 3600, (Self.lastOfDay + 1) / 1000])
        #expect(hours.map(\.counts.events) == [2, 1])
        #expect(hours.map(\.counts.pageviews) == [1, 1])
        #expect(hours[0].counts.visitors == [Self.hash(a)])
        let totals = batch.sortedDays.filter { $0.key.dimension == "" }
        #expect(totals.map(\.key.day.isoString) == ["2026-11-27", "2026-11-28"])
        #expect(totals.map(\.counts.events) == [2, 1])
    }

    @Test func everyEventCountsOnceInEachDimensionOfItsDay() {
        let batch = RollupBatch([Self.event(Self.lastOfDay, UUID(), path: "/a"), Self.event(Self.lastOfDay, UUID(), path: "/b")])
        let dimensions = Set(batch.sortedDays.map(\.key.dimension))
        #expect(dimensions == Set([""] + RollupBatch.dimensionNames))
        for name in RollupBatch.dimensionNames {
            #expect(batch.sortedDays.filter { $0.key.dimension == name }.map(\.counts.events).reduce(0, +) == 2)
        }
        #expect(batch.sortedDays.filter { $0.key.dimension == "path" }.map(\.key.value) == ["/a", "/b"])
    }

    @Test func rowsComeInTheKeyOrderThatConcurrentArchiversLockThemIn() {
        let batch = RollupBatch((0..<50).map { Self.event(Self.lastOfDay - Int64($0) * 3_600_000, UUID(), path: "/\($0 % 7)") })
        let keys = batch.sortedDays.map(\.key)
        #expect(keys == keys.sorted())
        #expect(batch.sortedHours.map(\.start) == batch.sortedHours.map(\.start).sorted())
    }

    @Test func anHourBefore1970StartsOnTheHour() {
        #expect(RollupBatch.hourStart(ofMilliseconds: -1) == -3600)
        #expect(RollupBatch.hourStart(ofMilliseconds: -3_600_000) == -3600)
        #expect(RollupBatch.hourStart(ofMilliseconds: 3_599_999) == 0)
    }

    @Test func aClosedWeekGetsTheBatchsDaysOfItMergedWithTheirVisitorsOnce() {
        // 2026-11-27 is a Friday, 2026-11-28 a Saturday: both in the week of Monday 2026-11-23;
        // 2026-11-30 is the next Monday.
        let a = UUID()
        let b = UUID()
        let nextMonday = Self.lastOfDay + 1 + 2 * 86_400_000
        let batch = RollupBatch([
            Self.event(Self.lastOfDay, a, path: "/x"), Self.event(Self.lastOfDay + 1, a, path: "/x"),
            Self.event(Self.lastOfDay + 2, b, type: "signup", path: "/y"), Self.event(nextMonday, b, path: "/x"),
        ])
        let monday = CivilDate(iso: "2026-11-23")!
        let following = CivilDate(iso: "2026-11-30")!
        #expect(batch.weeks == [monday, following])
        let rows = batch.weekRows(of: [monday])
        #expect(rows.allSatisfy { $0.key.day == monday })
        let paths = rows.filter { $0.key.dimension == "path" }
        #expect(paths.map(\.key.value) == ["/x", "/y"])
        #expect(paths.map(\.counts.events) == [2, 1])
        #expect(paths[0].counts.visitors == [Self.hash(a)])
        let totals = rows.filter { $0.key.dimension == "" }
        #expect(
            totals.map(\.counts.events) == [3] && totals.map(\.counts.pageviews) == [2]
                && totals.first?.counts.visitors == [Self.hash(a), Self.hash(b)])
        #expect(rows.map(\.key) == rows.map(\.key).sorted())
        #expect(batch.weekRows(of: [following]).filter { $0.key.dimension == "" }.map(\.counts.events) == [1])
        #expect(batch.weekRows(of: []).isEmpty)
    }
}
