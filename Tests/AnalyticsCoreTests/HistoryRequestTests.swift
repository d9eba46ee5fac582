import AnalyticsCore
import Testing

@Suite("History requests and timelines")
struct HistoryRequestTests {
    static let today = CivilDate(year: 2026, month: 12, day: 5)

    static func parse(_ route: HistoryRequest.Route, _ query: [(String, String)]) throws(HistoryRequestError) -> HistoryRequest {
        try HistoryRequest.parse(route: route, parameters: query.map { (name: $0.0, value: $0.1) }, today: today)
    }

    @Test func aTimeseriesWithoutParametersIsTheLastSevenDaysOfVisitorsPerDay() throws {
        let request = try Self.parse(.timeseries, [])
        #expect(request.kind == .timeseries(metric: .visitors, interval: .day))
        #expect(request.from.isoString == "2026-11-29")
        #expect(request.to == Self.today)
        #expect(request.dayCount == 7)
        #expect(request.filters.isEmpty)
    }

    @Test func aBreakdownReadsItsDimensionMetricLimitAndFilters() throws {
        let request = try Self.parse(
            .breakdown,
            [
                ("dimension", "referrer"), ("metric", "pageviews"), ("from", "2026-01-01"), ("to", "2026-03-31"), ("limit", "1000"),
                ("filter", "page:/pricing"), ("filter", "utm_campaign:black: friday"), ("filter", "country:"),
            ])
        #expect(request.kind == .breakdown(dimension: .referrer, sortedBy: .pageviews, limit: 1000))
        #expect(request.dayCount == 90)
        #expect(
            request.filters == [
                .init(dimension: .page, value: "/pricing"), .init(dimension: .utmCampaign, value: "black: friday"),
                .init(dimension: .country, value: ""),
            ])
        #expect(HistoryRequest.Dimension.page.column == "path")
        #expect(HistoryRequest.Dimension.referrer.column == "referrer_source")
    }

    @Test func theExportIsABreakdownWithADimensionAndATimeseriesWithout() throws {
        #expect(try Self.parse(.export, [("dimension", "os")]).kind == .breakdown(dimension: .os, sortedBy: .visitors, limit: 10))
        #expect(
            try Self.parse(.export, [("interval", "week"), ("metric", "events")]).kind == .timeseries(metric: .events, interval: .week))
        // Each kind checks, then ignores, the other's parameters.
        #expect(
            try Self.parse(.export, [("dimension", "os"), ("interval", "week")]).kind
                == .breakdown(dimension: .os, sortedBy: .visitors, limit: 10))
        #expect(try Self.parse(.export, [("limit", "3")]).kind == .timeseries(metric: .visitors, interval: .day))
        #expect(throws: HistoryRequestError.self) { try Self.parse(.export, [("dimension", "os"), ("interval", "x")]) }
        #expect(throws: HistoryRequestError.self) { try Self.parse(.export, [("limit", "1001")]) }
    }

    @Test(arguments: [
        ([("metric", "sessions")], "metric"),
        ([("interval", "minute")], "interval"),
        ([("from", "2026-02-30")], "from"),
        ([("to", "2026-1-5")], "to"),
        ([("from", "1969-12-31")], "from"),
        ([("from", "2026-12-06")], "from"),
        ([("from", "2024-12-04")], "from"),
        ([("metric", "events"), ("metric", "events")], "metric"),
        ([("filter", "nope:x")], "filter"),
        ([("filter", "page")], "filter"),
        ([("filter", "page:a\u{7}b")], "filter"),
        ([("limit", "5")], "limit"),
        ([("colour", "red")], "colour"),
    ])
    func aBadTimeseriesParameterIsNamed(query: [(String, String)], parameter: String) {
        #expect(throws: HistoryRequestError.self) { try Self.parse(.timeseries, query) }
        do {
            _ = try Self.parse(.timeseries, query)
        } catch {
            #expect(error.parameter == parameter)
        }
    }

    @Test(arguments: [
        ([("metric", "visitors")], "dimension"),
        ([("dimension", "city")], "dimension"),
        ([("dimension", "page"), ("limit", "0")], "limit"),
        ([("dimension", "page"), ("limit", "1001")], "limit"),
        ([("dimension", "page"), ("limit", "ten")], "limit"),
        ([("dimension", "page"), ("interval", "day")], "interval"),
        ([("dimension", "page"), ("filter", "os")], "filter"),
    ])
    func aBadBreakdownParameterIsNamed(query: [(String, String)], parameter: String) {
        do {
            _ = try Self.parse(.breakdown, query)
            Issue.record("accepted \(query)")
        } catch {
            #expect(error.parameter == parameter)
        }
    }

    @Test func twoYearsIsTheLongestRange() throws {
        #expect(try Self.parse(.timeseries, [("from", "2024-12-05"), ("to", "2026-12-05")]).dayCount == 731)
        #expect(throws: HistoryRequestError.self) { try Self.parse(.timeseries, [("from", "2024-12-04"), ("to", "2026-12-05")]) }
        let tooMany = (0...HistoryRequest.maximumFilters).map { _ in ("filter", "os:Linux") }
        #expect(throws: HistoryRequestError.self) { try Self.parse(.timeseries, tooMany) }
    }

    @Test func hoursDaysWeeksAndMonthsCoverTheRangeInOrder() {
        let from = CivilDate(year: 2026, month: 11, day: 28)
        let to = CivilDate(year: 2026, month: 12, day: 2)
        let hours = HistoryTimeline(from: from, to: to, interval: .hour).points
        #expect(hours.count == 120)
        #expect(hours.first?.label == "2026-11-28T00:00:00Z")
        #expect(hours.last?.label == "2026-12-02T23:00:00Z")
        #expect(zip(hours, hours.dropFirst()).allSatisfy { $1.start - $0.start == 3600 })
        #expect(
            HistoryTimeline(from: from, to: to, interval: .day).points.map(\.label) == [
                "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02",
            ])
        // 2026-11-28 is a Saturday: its ISO week began on Monday the 23rd.
        #expect(HistoryTimeline(from: from, to: to, interval: .week).points.map(\.label) == ["2026-11-23", "2026-11-30"])
        #expect(HistoryTimeline(from: from, to: to, interval: .month).points.map(\.label) == ["2026-11-01", "2026-12-01"])
        let acrossYears = HistoryTimeline(
            from: CivilDate(year: 2025, month: 12, day: 31), to: CivilDate(year: 2026, month: 1, day: 1), interval: .month)
        #expect(acrossYears.points.map(\.label) == ["2025-12-01", "2026-01-01"])
        #expect(HistoryTimeline(from: from, to: from, interval: .day).points.first?.start == Int64(from.daysSinceEpoch) * 86_400)
    }
}
