import AnalyticsCore
import Testing

@testable import GatewayKit

@Suite("History queries: how a range of days is cut")
struct HistoryStoreTests {
    static func day(_ iso: String) -> CivilDate { CivilDate(iso: iso)! }

    @Test("The whole weeks of a range are those from its first Monday to the last Monday whose Sunday is in it")
    func wholeWeeksOfARange() {
        // 2026-11-23 and 2026-11-30 are Mondays.
        let weeks = HistoryStore.wholeWeeks(from: Self.day("2026-11-23"), to: Self.day("2026-12-06"))
        #expect(weeks?.first == Self.day("2026-11-23") && weeks?.last == Self.day("2026-11-30"))
        let inner = HistoryStore.wholeWeeks(from: Self.day("2026-11-18"), to: Self.day("2026-12-09"))
        #expect(inner?.first == Self.day("2026-11-23") && inner?.last == Self.day("2026-11-30"))
        let one = HistoryStore.wholeWeeks(from: Self.day("2026-11-24"), to: Self.day("2026-12-06"))
        #expect(one?.first == Self.day("2026-11-30") && one?.last == Self.day("2026-11-30"))
        #expect(HistoryStore.wholeWeeks(from: Self.day("2026-11-24"), to: Self.day("2026-12-05")) == nil)
        #expect(HistoryStore.wholeWeeks(from: Self.day("2026-11-30"), to: Self.day("2026-11-30")) == nil)
    }

    @Test("A range is cut into runs of days held raw and runs of archived days")
    func spansOfRawAndArchivedDays() {
        let archived: Set<CivilDate> = [Self.day("2026-11-02"), Self.day("2026-11-03"), Self.day("2026-11-05")]
        let spans = HistoryStore.daySpans(from: Self.day("2026-11-01"), to: Self.day("2026-11-06"), archived: archived)
        #expect(
            spans.raw.map { "\($0.0.isoString)…\($0.1.isoString)" } == [
                "2026-11-01…2026-11-01", "2026-11-04…2026-11-04", "2026-11-06…2026-11-06",
            ])
        #expect(spans.archived.map { "\($0.0.isoString)…\($0.1.isoString)" } == ["2026-11-02…2026-11-03", "2026-11-05…2026-11-05"])
    }
}
