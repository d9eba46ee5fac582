import AggregatorKit
import AnalyticsCore
import Foundation
import RedisClient
import Testing

/// Planning of an aggregation batch, without Redis: decoding, day groups, the script's KEYS/ARGV
/// layout, the reply parsing and the public realtime message.
@Suite("AggregationBatch")
struct AggregationBatchTests {
    static let visitorA = UUID(uuidString: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")!
    static let visitorB = UUID(uuidString: "BBBBBBBB-BBBB-4BBB-8BBB-BBBBBBBBBBBB")!
    /// 2026-11-27T00:00:00Z (a Friday) and the next midnight.
    static let nov27: Int64 = 1_795_737_600_000
    static let nov28: Int64 = 1_795_824_000_000

    private static func eventID(_ n: Int) -> UUID {
        UUID(uuidString: String(format: "01936f5e-0000-7000-8000-%012d", n))!
    }

    private func event(
        _ n: Int, _ type: String = "click", data: String = "{}", visitor: UUID = visitorA, at ms: Int64 = nov27 + 1_000,
        url: String? = nil, dimensions: EventDimensions = EventDimensions()
    ) -> AnalyticsEvent {
        AnalyticsEvent(
            id: Self.eventID(n), visitorID: visitor, eventType: type, eventData: data, pageURL: url, createdAt: ms,
            dimensions: dimensions)
    }

    private func entry(_ streamID: String, _ event: AnalyticsEvent) -> RedisStreamEntry {
        let flat = StreamEntryCodec.fields(of: event)
        return RedisStreamEntry(id: streamID, fields: stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) })
    }

    static let window: Int64 = 300_000
    /// The default "now" of the planning: ten seconds into Nov 27.
    static let now: Int64 = nov27 + 10_000

    private func input(
        _ batch: AggregationBatch, today: TimeBucket? = nil, now: Int64 = now
    ) -> AggregationBatch.ScriptInput {
        var throttle = ActiveVisitorThrottle(windowMilliseconds: Self.window)
        return input(batch, today: today, now: now, throttle: &throttle)
    }

    private func input(
        _ batch: AggregationBatch, today: TimeBucket? = nil, now: Int64 = now, throttle: inout ActiveVisitorThrottle,
        knownVisitors: KnownDayVisitors = KnownDayVisitors()
    ) -> AggregationBatch.ScriptInput {
        batch.scriptInput(
            keyspace: RedisKeyspace(), group: "aggregator", activeWindowMilliseconds: Self.window, themeCap: 50,
            today: today ?? TimeBucket(epochMilliseconds: now), nowMilliseconds: now, throttle: &throttle, knownVisitors: knownVisitors)
    }

    /// The ARGV of `AggregationScript`, read back section by section as its doc comment lays it out.
    struct Layout {
        var header: [String]
        var expiries: [[String]]
        var dead: [[String]]
        var visitors: [[String]]
        var active: [(ms: String, visitor: String)]
        /// Where the active pairs lie in the arguments (their order carries no meaning).
        var activePairs: Range<Int>
        var runs: [[Int]]
        var dimensions: [(entry: Int, value: String)]
        var ids: [String]

        var activeByVisitor: [String: String] {
            Dictionary(active.map { ($0.visitor, $0.ms) }, uniquingKeysWith: { a, _ in a })
        }
        /// The day group of each entry, expanded from the runs.
        var groupOfEntry: [Int] { runs.flatMap { Array(repeating: $0[1], count: $0[0]) } }
    }

    struct MalformedArguments: Error, CustomStringConvertible {
        var description: String
    }

    private func layout(_ arguments: [String]) throws -> Layout {
        var i = 0
        func take() throws -> String {
            guard i < arguments.count else { throw MalformedArguments(description: "ran out at \(i): \(arguments)") }
            defer { i += 1 }
            return arguments[i]
        }
        func takeCount() throws -> Int {
            let text = try take()
            guard let n = Int(text), n >= 0 else { throw MalformedArguments(description: "bad count '\(text)' at \(i - 1)") }
            return n
        }
        func take(_ n: Int) throws -> [String] { try (0..<n).map { _ in try take() } }

        let header = try take(6)
        guard let g = Int(header[3]), let d = Int(header[4]), let e = Int(header[5]) else {
            throw MalformedArguments(description: "bad header \(header)")
        }
        let expiries = try (0..<g).map { _ in try take(3) }
        let dead = try (0..<d).map { _ in try take(2) }
        let visitors = try (0..<g).map { _ in try take(try takeCount()) }
        let a = try takeCount()
        let activeStart = i
        let active = try (0..<a).map { _ in (ms: try take(), visitor: try take()) }
        let activePairs = activeStart..<i
        let runs = try (0..<takeCount()).map { _ in [try takeCount(), try takeCount()] }
        let dimensions = try (0..<takeCount()).map { _ in (entry: try takeCount(), value: try take()) }
        let ids = try take(e)
        guard i == arguments.count else {
            throw MalformedArguments(description: "\(arguments.count - i) arguments left over: \(arguments[i...])")
        }
        return Layout(
            header: header, expiries: expiries, dead: dead, visitors: visitors, active: active, activePairs: activePairs,
            runs: runs, dimensions: dimensions, ids: ids)
    }

    /// The arguments with the active pairs sorted by visitor, so a whole layout can be compared exactly.
    private func canonical(_ arguments: [String]) throws -> [String] {
        let parsed = try layout(arguments)
        var result = arguments
        result.replaceSubrange(
            parsed.activePairs, with: parsed.active.sorted { $0.visitor < $1.visitor }.flatMap { [$0.ms, $0.visitor] })
        return result
    }

    private static let a = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    private static let b = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
    private static func visitor(_ n: Int) -> UUID {
        UUID(uuidString: String(format: "0000000c-0000-4000-8000-%012d", n))!
    }

    // MARK: decoding

    @Test func decodesEntriesAndTheirFields() {
        let batch = AggregationBatch([
            entry("1-0", event(1, url: "https://example.com/cv?x=1")),
            entry("1-1", event(2, "cv_theme_view", data: #"{"theme":"dark"}"#, visitor: Self.visitorB, at: Self.nov27 + 2_000)),
            entry("2-0", event(3, "letter_generated", data: #"{"type":"anti_motivation"}"#, at: Self.nov28)),
        ])
        #expect(batch.dead.isEmpty)
        #expect(batch.count == 3)
        #expect(!batch.isEmpty)
        #expect(batch.entries.map(\.streamID) == ["1-0", "1-1", "2-0"])
        #expect(batch.entries.map(\.visitorID) == [Self.a, Self.b, Self.a])
        #expect(batch.entries.map(\.eventType) == ["click", "cv_theme_view", "letter_generated"])
        #expect(batch.entries.map(\.createdAt) == [Self.nov27 + 1_000, Self.nov27 + 2_000, Self.nov28])
        #expect(batch.entries.map(\.pageURL) == ["https://example.com/cv?x=1", nil, nil])
        #expect(batch.entries.map(\.dimension) == [.none, .theme("dark"), .letter("anti_motivation")])
    }

    @Test func visitorIDIsCanonicalLowerCaseWhateverTheStreamHolds() {
        // The HyperLogLogs must see one spelling per visitor, or a visitor would count twice.
        let batch = AggregationBatch([
            RedisStreamEntry(
                id: "1-0",
                fields: [
                    ("id", Self.eventID(1).uuidString), ("vid", "BBBBBBBB-BBBB-4BBB-8BBB-BBBBBBBBBBBB"), ("type", "click"),
                    ("ts", String(Self.nov27)),
                ]),
            entry("1-1", event(2, visitor: Self.visitorB)),
        ])
        #expect(batch.dead.isEmpty)
        #expect(batch.entries.map(\.visitorID) == [Self.b, Self.b])
        let parsed = try? layout(input(batch).arguments)
        #expect(parsed?.visitors == [[Self.b]])
    }

    @Test func trimmedAndUndecodableEntriesAreDead() throws {
        let batch = AggregationBatch([
            RedisStreamEntry(id: "1-0", fields: nil),
            entry("1-1", event(1)),
            RedisStreamEntry(id: "1-2", fields: [("foo", "bar")]),
            RedisStreamEntry(
                id: "1-3",
                fields: [
                    ("id", Self.eventID(9).lowercasedString), ("vid", Self.visitorA.lowercasedString), ("type", "click"),
                    ("ts", "yesterday"),
                ]),
            RedisStreamEntry(id: "1-4", fields: []),
        ])
        #expect(batch.entries.map(\.streamID) == ["1-1"])
        #expect(batch.count == 5)
        #expect(batch.dead.map(\.streamID) == ["1-0", "1-2", "1-3", "1-4"])
        #expect(batch.dead[0].reason == "entry trimmed from the stream while pending")
        #expect(batch.dead[1].reason == "undecodable: missing or malformed field id")
        #expect(batch.dead[2].reason == "undecodable: missing or malformed field ts")
        #expect(batch.dead[3].reason == "undecodable: missing or malformed field id")
    }

    @Test func emptyBatch() throws {
        let batch = AggregationBatch([])
        #expect(batch.isEmpty)
        #expect(batch.count == 0)
        #expect(batch.days.isEmpty)
        let input = input(batch)
        #expect(input.keys.count == 5)
        // Header (G = D = E = 0), then A = 0, R = 0, M = 0.
        #expect(input.arguments == ["aggregator", "300000", "50", "0", "0", "0", "0", "0", "0"])
        _ = try layout(input.arguments)
        #expect(!AggregationBatch([RedisStreamEntry(id: "1-0", fields: nil)]).isEmpty)
    }

    @Test func batchOfDeadEntriesOnly() throws {
        let batch = AggregationBatch([RedisStreamEntry(id: "1-0", fields: nil), RedisStreamEntry(id: "1-1", fields: [])])
        let input = input(batch)
        #expect(input.keys.count == 5)
        #expect(
            input.arguments == [
                "aggregator", "300000", "50", "0", "2", "0",
                "1-0", "entry trimmed from the stream while pending",
                "1-1", "undecodable: missing or malformed field id",
                "0", "0", "0",
            ])
        _ = try layout(input.arguments)
    }

    // MARK: days

    @Test func daysAreDistinctInOrderOfFirstAppearance() {
        let day = Int64(86_400_000)
        let batch = AggregationBatch([
            entry("1-0", event(1, at: Self.nov27 + day + 5)),  // Nov 28
            entry("1-1", event(2, at: Self.nov27 + 5)),  // Nov 27
            entry("1-2", event(3, at: Self.nov27 + day + 9)),  // Nov 28 again
            entry("1-3", event(4, at: Self.nov27 + 3 * day)),  // Nov 30
            entry("1-4", event(5, at: Self.nov27 + 10)),  // Nov 27 again
            RedisStreamEntry(id: "1-5", fields: nil),
        ])
        #expect(batch.days.map(\.dayName) == ["2026-11-28", "2026-11-27", "2026-11-30"])
    }

    @Test func lastAndFirstMillisecondOfADayAreTwoGroups() throws {
        let batch = AggregationBatch([
            entry("5-0", event(1, at: Self.nov28 - 1)),  // 2026-11-27T23:59:59.999Z
            entry("5-1", event(2, at: Self.nov28)),  // 2026-11-28T00:00:00.000Z
        ])
        #expect(batch.days.map(\.dayName) == ["2026-11-27", "2026-11-28"])
        let input = input(batch)
        #expect(input.keys.count == 5 + 2 * 9)
        #expect(input.arguments[3] == "2")
        let parsed = try layout(input.arguments)
        #expect(parsed.runs == [[1, 1], [1, 2]])
        #expect(parsed.visitors == [[Self.a], [Self.a]])
        #expect(input.keys[5] == "analytics:stats:day:2026-11-27:total_events")
        #expect(input.keys[14] == "analytics:stats:day:2026-11-28:total_events")
    }

    @Test func instantsBefore1970FallOnTheirOwnDay() throws {
        let day = Int64(86_400_000)
        let batch = AggregationBatch([
            entry("1-0", event(1, at: -1)),  // 1969-12-31T23:59:59.999Z
            entry("1-1", event(2, at: -day)),  // 1969-12-31T00:00:00.000Z
            entry("1-2", event(3, at: -day - 1)),  // 1969-12-30T23:59:59.999Z
            entry("1-3", event(4, at: 0)),  // 1970-01-01
        ])
        #expect(batch.days.map(\.dayName) == ["1969-12-31", "1969-12-30", "1970-01-01"])
        let parsed = try layout(input(batch).arguments)
        #expect(parsed.runs == [[2, 1], [1, 2], [1, 3]])
    }

    @Test func anExtremeTimestampIsNotAPoisonPill() async {
        // An entry written by something other than the gateway may carry any Int64 "ts". Decoding
        // refuses a time outside years 1–9999 (the entry goes to the dead letters), and nothing may
        // trap: a trapping entry would crash the consumer again on every redelivery. Run in a child
        // process, since a trap would end the test run.
        let extreme = [
            ("id", "01936f5e-0000-7000-8000-000000000001"), ("vid", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"),
            ("type", "click"), ("ts", String(Int64.min)),
        ]
        #expect(AggregationBatch([RedisStreamEntry(id: "1-0", fields: extreme)]).dead.count == 1)
        do {
            await #expect(processExitsWith: .success) {
                let fields = [
                    ("id", "01936f5e-0000-7000-8000-000000000001"), ("vid", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"),
                    ("type", "click"), ("ts", String(Int64.min)),
                ]
                let batch = AggregationBatch([RedisStreamEntry(id: "1-0", fields: fields)])
                var throttle = ActiveVisitorThrottle(windowMilliseconds: 300_000)
                _ = batch.scriptInput(
                    keyspace: RedisKeyspace(), group: "g", activeWindowMilliseconds: 300_000, themeCap: 50,
                    today: TimeBucket(epochMilliseconds: 0), nowMilliseconds: 0, throttle: &throttle)
            }
        }
        await #expect(processExitsWith: .success) {
            let fields = [
                ("id", "01936f5e-0000-7000-8000-000000000001"), ("vid", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"),
                ("type", "click"), ("ts", String(Int64.max)),
            ]
            let batch = AggregationBatch([RedisStreamEntry(id: "1-0", fields: fields)])
            var throttle = ActiveVisitorThrottle(windowMilliseconds: 300_000)
            _ = batch.scriptInput(
                keyspace: RedisKeyspace(), group: "g", activeWindowMilliseconds: 300_000, themeCap: 50,
                today: TimeBucket(epochMilliseconds: 0), nowMilliseconds: 0, throttle: &throttle)
        }
    }

    // MARK: script input

    @Test func scriptInputLayout() throws {
        let batch = AggregationBatch([
            entry("100-0", event(1, "pageview", visitor: Self.visitorA, at: Self.nov27 + 1_000)),
            RedisStreamEntry(id: "100-1", fields: nil),
            entry("100-2", event(2, "cv_theme_view", data: #"{"theme":"dark mode"}"#, visitor: Self.visitorB, at: Self.nov28 + 7)),
            RedisStreamEntry(id: "100-3", fields: [("type", "click")]),
            entry("100-4", event(3, "letter_generated", data: #"{"type":"motivation"}"#, at: Self.nov27 + 2_000)),
            entry("100-5", event(4, "click", visitor: Self.visitorB, at: Self.nov28 + 3)),
        ])
        // Now is just after the Nov 28 events: A's Nov 27 events are older than the 5-minute window.
        let input = input(batch, now: Self.nov28 + 10)

        #expect(
            input.keys == [
                "analytics:events",
                "analytics:realtime:visitors",
                "analytics:themes:top",
                "analytics:visitors:unique:day:2026-11-28",  // today's HLL, from `today`
                "analytics:events:dead",
                // group 1: 2026-11-27 (Friday, week 48)
                "analytics:stats:day:2026-11-27:total_events",
                "analytics:stats:week:2026-W48:total_events",
                "analytics:stats:month:2026-11:total_events",
                "analytics:stats:day:2026-11-27:letters_generated",
                "analytics:stats:week:2026-W48:letters_generated",
                "analytics:stats:month:2026-11:letters_generated",
                "analytics:visitors:unique:day:2026-11-27",
                "analytics:visitors:unique:week:2026-W48",
                "analytics:visitors:unique:month:2026-11",
                // group 2: 2026-11-28
                "analytics:stats:day:2026-11-28:total_events",
                "analytics:stats:week:2026-W48:total_events",
                "analytics:stats:month:2026-11:total_events",
                "analytics:stats:day:2026-11-28:letters_generated",
                "analytics:stats:week:2026-W48:letters_generated",
                "analytics:stats:month:2026-11:letters_generated",
                "analytics:visitors:unique:day:2026-11-28",
                "analytics:visitors:unique:week:2026-W48",
                "analytics:visitors:unique:month:2026-11",
            ])

        // Day keys expire 90 days after their day ends; week (ends Monday 2026-11-30, 1795996800) and
        // month (ends 2026-12-01, 1796083200) keys 365 days after.
        let weekExpiry = String(1_795_996_800 + 365 * 86_400)
        let monthExpiry = String(1_796_083_200 + 365 * 86_400)
        #expect(
            try canonical(input.arguments) == [
                "aggregator", "300000", "50", "2", "2", "4",
                // expiries of group 1, group 2
                String(1_795_824_000 + 90 * 86_400), weekExpiry, monthExpiry,
                String(1_795_910_400 + 90 * 86_400), weekExpiry, monthExpiry,
                // dead entries
                "100-1", "entry trimmed from the stream while pending",
                "100-3", "undecodable: missing or malformed field id",
                // distinct visitors of group 1 (A twice, listed once), of group 2 (B twice)
                "1", Self.a,
                "1", Self.b,
                // active: only B is within the window, at its latest time
                "1", "1795824000007", Self.b,
                // runs: entry 1 in group 1, entries 2 in group 2, entry 3 in group 1, entry 4 in group 2
                "4", "1", "1", "1", "2", "1", "1", "1", "2",
                // dimensions: entry 2 a theme, entry 3 a letter
                "2", "2", "tdark mode", "3", "lmotivation",
                // entry ids
                "100-0", "100-2", "100-4", "100-5",
            ])
    }

    @Test func aVisitorIsListedOncePerDayGroupInOrderOfFirstAppearance() throws {
        let c = Self.visitor(3)
        let batch = AggregationBatch([
            entry("1-0", event(1, visitor: Self.visitorB, at: Self.nov27 + 1)),
            entry("1-1", event(2, visitor: Self.visitorA, at: Self.nov27 + 2)),
            entry("1-2", event(3, visitor: Self.visitorB, at: Self.nov27 + 3)),
            entry("1-3", event(4, visitor: Self.visitorA, at: Self.nov28 + 4)),  // a second day
            entry("1-4", event(5, visitor: c, at: Self.nov27 + 5)),
            entry("1-5", event(6, visitor: Self.visitorA, at: Self.nov27 + 6)),
            entry("1-6", event(7, visitor: Self.visitorA, at: Self.nov28 + 7)),
        ])
        let parsed = try layout(input(batch).arguments)
        #expect(parsed.visitors == [[Self.b, Self.a, c.lowercasedString], [Self.a]])
    }

    @Test func visitorsKnownToBeInADaysHyperLogLogsAreLeftOut() throws {
        let c = Self.visitor(3)
        let batch = AggregationBatch([
            entry("1-0", event(1, visitor: Self.visitorB, at: Self.nov27 + 1)),
            entry("1-1", event(2, visitor: Self.visitorA, at: Self.nov27 + 2)),
            entry("1-2", event(3, visitor: Self.visitorA, at: Self.nov28 + 3)),
            entry("1-3", event(4, visitor: c, at: Self.nov27 + 4)),
        ])
        // A is known on Nov 27 only: it is still added for Nov 28.
        var known = KnownDayVisitors()
        let nov27 = AggregationBatch.dayNumber(Self.nov27)
        let nov28 = AggregationBatch.dayNumber(Self.nov28)
        known.record([Self.a], day: nov27)
        var throttle = ActiveVisitorThrottle(windowMilliseconds: Self.window)
        let planned = input(batch, throttle: &throttle, knownVisitors: known)
        let parsed = try layout(planned.arguments)
        #expect(parsed.visitors == [[Self.b, c.lowercasedString], [Self.a]])
        #expect(planned.addedVisitors == [nov27: [Self.b, c.lowercasedString], nov28: [Self.a]])
        // Every entry is still counted and acknowledged: only the HyperLogLog arguments shrink.
        #expect(parsed.ids == ["1-0", "1-1", "1-2", "1-3"])
        // Once everything is known, no visitor is passed at all.
        for (day, visitors) in planned.addedVisitors { known.record(visitors, day: day) }
        let again = input(batch, throttle: &throttle, knownVisitors: known)
        #expect(try layout(again.arguments).visitors == [[], []])
        #expect(again.addedVisitors.isEmpty)
    }

    @Test func activePairsHoldTheLatestTimePerVisitor() throws {
        let now = Self.nov27 + 3_600_000  // an hour into the day: every entry below is on Nov 27
        let c = Self.visitor(3)
        let batch = AggregationBatch([
            entry("1-0", event(1, visitor: Self.visitorA, at: now - 5_000)),
            entry("1-1", event(2, visitor: Self.visitorA, at: now - 1_000)),  // A's latest
            entry("1-2", event(3, visitor: Self.visitorA, at: now - 3_000)),  // out of order
            entry("1-3", event(4, visitor: Self.visitorB, at: now - 400_000)),  // older than the window
            entry("1-4", event(5, visitor: Self.visitorB, at: now - 2_000)),
            entry("1-5", event(6, visitor: c, at: now - 400_000)),  // C only older than the window
        ])
        let parsed = try layout(input(batch, now: now).arguments)
        #expect(parsed.active.count == 2)
        #expect(parsed.activeByVisitor == [Self.a: String(now - 1_000), Self.b: String(now - 2_000)])
        // Left out of the active window, C still counts as a visitor of the day.
        #expect(parsed.visitors == [[Self.a, Self.b, c.lowercasedString]])
    }

    @Test func activePairsLeaveOutEntriesOlderThanTheWindow() throws {
        let now = Self.nov27 + 3_600_000
        let batch = AggregationBatch([
            // The script removes scores up to now - window inclusive: an entry exactly that old is out.
            entry("1-0", event(1, visitor: Self.visitorA, at: now - Self.window)),
            entry("1-1", event(2, visitor: Self.visitorB, at: now - Self.window + 1)),
            entry("1-2", event(3, visitor: Self.visitor(3), at: now - 10 * Self.window)),
            entry("1-3", event(4, visitor: Self.visitor(4), at: now + 2_000)),  // a clock ahead: still active
        ])
        let parsed = try layout(input(batch, now: now).arguments)
        #expect(
            parsed.activeByVisitor == [
                Self.b: String(now - Self.window + 1), Self.visitor(4).lowercasedString: String(now + 2_000),
            ])
        // A visitor whose only entry has left the window is not active even when it is its latest.
        let old = AggregationBatch([entry("2-0", event(5, visitor: Self.visitorA, at: now - Self.window - 1))])
        #expect(try layout(input(old, now: now).arguments).active.isEmpty)
    }

    @Test func throttleLeavesOutARecentlyRecordedVisitorThenIncludesItAgain() throws {
        let t = Self.now
        var throttle = ActiveVisitorThrottle(granularityMilliseconds: 1_000, windowMilliseconds: Self.window)
        #expect(throttle.granularityMilliseconds == 1_000)

        let first = AggregationBatch([entry("1-0", event(1, visitor: Self.visitorA, at: t - 100))])
        #expect(try layout(input(first, now: t, throttle: &throttle).arguments).activeByVisitor == [Self.a: String(t - 100)])

        // 500 ms later A was written 500 ms ago (by entry time): left out; B is new.
        let second = AggregationBatch([
            entry("2-0", event(2, visitor: Self.visitorA, at: t + 200)),
            entry("2-1", event(3, visitor: Self.visitorA, at: t + 400)),
            entry("2-2", event(4, visitor: Self.visitorB, at: t + 450)),
        ])
        let parsedSecond = try layout(input(second, now: t + 500, throttle: &throttle).arguments)
        #expect(parsedSecond.activeByVisitor == [Self.b: String(t + 450)])
        #expect(parsedSecond.visitors == [[Self.a, Self.b]])  // the day's uniques are not throttled

        // A full granularity after its last write, A is written again; B (written 550 ms ago) is not.
        let third = AggregationBatch([
            entry("3-0", event(5, visitor: Self.visitorA, at: t + 900)),
            entry("3-1", event(6, visitor: Self.visitorB, at: t + 1_000)),
        ])
        #expect(
            try layout(input(third, now: t + 1_500, throttle: &throttle).arguments).activeByVisitor
                == [Self.a: String(t + 900)])

        // After a reset (a failed batch), every visitor is written again.
        throttle.reset()
        let fourth = AggregationBatch([
            entry("4-0", event(7, visitor: Self.visitorA, at: t + 1_000)),
            entry("4-1", event(8, visitor: Self.visitorB, at: t + 1_100)),
        ])
        #expect(
            try layout(input(fourth, now: t + 1_600, throttle: &throttle).arguments).activeByVisitor
                == [Self.a: String(t + 1_000), Self.b: String(t + 1_100)])
    }

    @Test func anEntryLeftOutOfTheWindowIsNotRecordedByTheThrottle() throws {
        let t = Self.now
        var throttle = ActiveVisitorThrottle(windowMilliseconds: Self.window)
        let stale = AggregationBatch([entry("1-0", event(1, visitor: Self.visitorA, at: t - Self.window - 100))])
        #expect(try layout(input(stale, now: t, throttle: &throttle).arguments).active.isEmpty)
        #expect(throttle.count == 0)
        // So a fresh entry shortly after it is written, though within the granularity of the stale one.
        let fresh = AggregationBatch([entry("2-0", event(2, visitor: Self.visitorA, at: t - Self.window + 500))])
        #expect(
            try layout(input(fresh, now: t, throttle: &throttle).arguments).activeByVisitor
                == [Self.a: String(t - Self.window + 500)])
    }

    @Test func planningPrunesTheThrottleWithNow() {
        let t = Self.now
        var throttle = ActiveVisitorThrottle(windowMilliseconds: Self.window)
        let batch = AggregationBatch([
            entry("1-0", event(1, visitor: Self.visitorA, at: t - 1_000)),
            entry("1-1", event(2, visitor: Self.visitorB, at: t - 2_000)),
        ])
        _ = input(batch, now: t, throttle: &throttle)
        #expect(throttle.count == 2)
        _ = input(AggregationBatch([]), now: t + Self.window, throttle: &throttle)
        #expect(throttle.count == 0)
    }

    @Test func runsCompressConsecutiveEntriesOfADay() throws {
        let day = Int64(86_400_000)
        let single = AggregationBatch((0..<50).map { entry("1-\($0)", event($0, at: Self.nov27 + Int64($0))) })
        let parsedSingle = try layout(input(single).arguments)
        #expect(parsedSingle.runs == [[50, 1]])

        let days: [Int64] = [0, 0, 0, 1, 1, 0, 2, 2, 2, 2, 1]
        let mixed = AggregationBatch(
            days.enumerated().map { i, d in
                entry("2-\(i)", event(i, at: Self.nov27 + d * day + Int64(i)))
            } + [RedisStreamEntry(id: "2-99", fields: nil)])
        let input = input(mixed)
        let parsed = try layout(input.arguments)
        #expect(parsed.runs == [[3, 1], [2, 2], [1, 1], [4, 3], [1, 2]])
        #expect(parsed.groupOfEntry == days.map { Int($0) + 1 })
        #expect(
            Array(input.arguments[parsed.activePairs.upperBound...].prefix(11))
                == ["5", "3", "1", "2", "2", "1", "1", "4", "3", "1", "2"])
    }

    @Test func dimensionsOnlyForThemeAndLetterEntriesNumberedFromOne() throws {
        let batch = AggregationBatch([
            entry("1-0", event(1, "click")),
            RedisStreamEntry(id: "1-1", fields: nil),  // dead: not numbered
            entry("1-2", event(2, "cv_theme_view", data: #"{"theme":"dark"}"#)),
            entry("1-3", event(3, "letter_generated", data: #"{"type":"motivation"}"#)),
            entry("1-4", event(4, "cv_theme_view", data: "{}")),  // no theme
            entry("1-5", event(5, "letter_generated", data: #"{"type":"sonnet"}"#)),  // unknown letter type
            entry("1-6", event(6, "pageview", data: #"{"theme":"light"}"#)),  // a theme on another type
            entry("1-7", event(7, "cv_theme_view", data: #"{"theme":"light"}"#)),
            entry("1-8", event(8, "letter_generated", data: #"{"type":"anti_motivation"}"#)),
        ])
        let input = input(batch)
        let parsed = try layout(input.arguments)
        #expect(parsed.dimensions.map(\.entry) == [2, 3, 7, 8])
        #expect(parsed.dimensions.map(\.value) == ["tdark", "lmotivation", "tlight", "lanti_motivation"])
        #expect(
            Array(input.arguments.suffix(8 + 1 + 8)) == [
                "4", "2", "tdark", "3", "lmotivation", "7", "tlight", "8", "lanti_motivation",
                "1-0", "1-2", "1-3", "1-4", "1-5", "1-6", "1-7", "1-8",
            ])
        #expect(parsed.ids == ["1-0", "1-2", "1-3", "1-4", "1-5", "1-6", "1-7", "1-8"])

        let plain = AggregationBatch([entry("2-0", event(9)), entry("2-1", event(10, "pageview"))])
        #expect(try layout(self.input(plain).arguments).dimensions.isEmpty)
    }

    @Test func scriptInputUsesTheKeyspaceAndParameters() {
        let batch = AggregationBatch([entry("1-0", event(1, at: Self.nov27))])
        var throttle = ActiveVisitorThrottle(windowMilliseconds: 60_000)
        let input = batch.scriptInput(
            keyspace: RedisKeyspace(prefix: "t9"), group: "g", activeWindowMilliseconds: 60_000, themeCap: 7,
            today: TimeBucket(epochMilliseconds: Self.nov27), nowMilliseconds: Self.nov27, throttle: &throttle)
        #expect(
            input.keys.prefix(5) == [
                "t9:events", "t9:realtime:visitors", "t9:themes:top", "t9:visitors:unique:day:2026-11-27", "t9:events:dead",
            ])
        #expect(input.keys.dropFirst(5).allSatisfy { $0.hasPrefix("t9:") })
        #expect(input.arguments.prefix(6) == ["g", "60000", "7", "1", "0", "1"])
    }

    @Test func todayComesFromTheParameterNotFromTheEntries() {
        let batch = AggregationBatch([entry("1-0", event(1, at: Self.nov27))])
        let input = input(batch, today: TimeBucket(epochMilliseconds: Self.nov28 + 5), now: Self.nov27)
        #expect(input.keys[3] == "analytics:visitors:unique:day:2026-11-28")
    }

    @Test func sizesFollowTheDocumentedFormula() throws {
        var raw: [RedisStreamEntry] = []
        for i in 0..<40 {
            // Spread over 4 days, with a dead entry every 10; 7 visitors; a theme every 3.
            if i % 10 == 9 {
                raw.append(RedisStreamEntry(id: "\(i)-0", fields: nil))
            } else {
                raw.append(
                    entry(
                        "\(i)-0",
                        event(
                            i, i % 3 == 0 ? "cv_theme_view" : "click", data: i % 3 == 0 ? #"{"theme":"t\#(i % 5)"}"# : "{}",
                            visitor: Self.visitor(i % 7), at: Self.nov27 + Int64(i % 4) * 86_400_000 + Int64(i))))
            }
        }
        let batch = AggregationBatch(raw)
        #expect(batch.entries.count == 36)
        #expect(batch.dead.count == 4)
        #expect(batch.days.count == 4)
        // Now is late on the fourth day: only its entries are within the window.
        let input = input(batch, now: Self.nov27 + 3 * 86_400_000 + 60_000)
        let parsed = try layout(input.arguments)
        #expect(input.keys.count == 5 + 9 * 4)
        let visitorArguments = parsed.visitors.map { 1 + $0.count }.reduce(0, +)
        #expect(
            input.arguments.count
                == 6 + 3 * 4 + 2 * 4 + visitorArguments + 1 + 2 * parsed.active.count + 1 + 2 * parsed.runs.count
                + 1 + 2 * parsed.dimensions.count + 36)
        #expect(parsed.header == ["aggregator", "300000", "50", "4", "4", "36"])
        #expect(parsed.dead.map { $0[0] } == ["9-0", "19-0", "29-0", "39-0"])
        #expect(parsed.ids == batch.entries.map(\.streamID))
        #expect(parsed.runs.count == 36)  // the days alternate: no two consecutive entries share one
        #expect(parsed.dimensions.count == batch.entries.filter { $0.dimension != .none }.count)
        // Every entry's group points to the group of its own day, and its visitor is listed there.
        let days = batch.days
        let groups = parsed.groupOfEntry
        #expect(groups.count == 36)
        for (i, entry) in batch.entries.enumerated() {
            let g = groups[i]
            #expect(days[g - 1] == TimeBucket(epochMilliseconds: entry.createdAt))
            #expect(input.keys[5 + (g - 1) * 9] == "analytics:stats:day:\(days[g - 1].dayName):total_events")
            #expect(parsed.visitors[g - 1].contains(entry.visitorID))
        }
        for visitors in parsed.visitors { #expect(Set(visitors).count == visitors.count) }
        // Active: the visitors of the fourth day (entries i % 4 == 3), each at its latest time.
        var expected: [String: String] = [:]
        for entry in batch.entries where TimeBucket(epochMilliseconds: entry.createdAt) == days[3] {
            expected[entry.visitorID] = String(max(Int64(expected[entry.visitorID] ?? "") ?? .min, entry.createdAt))
        }
        #expect(parsed.activeByVisitor == expected)
        #expect(parsed.active.count == expected.count)
    }

    @Test func groupsAcrossAYearBoundaryUseISOWeekYears() {
        // 2027-01-03 (Sunday) is in 2026-W53; 2027-01-04 in 2027-W01.
        let jan3: Int64 = 1_798_934_400_000
        let batch = AggregationBatch([
            entry("1-0", event(1, at: jan3)),
            entry("1-1", event(2, at: jan3 + 86_400_000)),
        ])
        let keys = input(batch).keys
        #expect(keys[6] == "analytics:stats:week:2026-W53:total_events")
        #expect(keys[7] == "analytics:stats:month:2027-01:total_events")
        #expect(keys[15] == "analytics:stats:week:2027-W01:total_events")
        let args = input(batch).arguments
        #expect(args[7] == String(1_799_020_800 + 365 * 86_400))  // W53 ends Monday 2027-01-04
        #expect(args[10] == String(1_799_020_800 + 7 * 86_400 + 365 * 86_400))
    }

    // MARK: outcome

    @Test func outcomeParsesTheScriptReply() throws {
        let reply = RedisValue.array([
            .bulk(Array("101".utf8)), .integer(2), .integer(5), .integer(7),
            .array([.bulk(Array("dark".utf8)), .bulk(Array("3".utf8)), .bulk(Array("light".utf8)), .bulk(Array("1.5".utf8))]),
        ])
        let outcome = try AggregationOutcome(reply)
        #expect(outcome.applied == [true, false, true])
        #expect(outcome.appliedCount == 2)
        #expect(outcome.newUniqueVisitors == 2)
        #expect(outcome.currentVisitors == 5)
        #expect(outcome.uniqueToday == 7)
        #expect(outcome.themeScores.map(\.theme) == ["dark", "light"])
        #expect(outcome.themeScores.map(\.views) == [3, 1.5])
    }

    @Test func outcomeOfAnEmptyBatch() throws {
        let outcome = try AggregationOutcome(.array([.bulk([]), .integer(0), .integer(0), .integer(0), .array([])]))
        #expect(outcome.applied.isEmpty)
        #expect(outcome.appliedCount == 0)
        #expect(outcome.themeScores.isEmpty)
        let same = try AggregationOutcome(.array([.bulk([]), .integer(0), .integer(0), .integer(0), .array([])]))
        #expect(outcome == same)
        let other = try AggregationOutcome(.array([.bulk([]), .integer(0), .integer(1), .integer(0), .array([])]))
        #expect(outcome != other)
    }

    @Test(arguments: [
        RedisValue.null,
        .error("ERR something"),
        .status("OK"),
        .integer(1),
        .array([]),
        .array([.bulk(Array("1".utf8)), .integer(0), .integer(0), .integer(0)]),
        .array([.bulk(Array("1".utf8)), .integer(0), .integer(0), .integer(0), .array([]), .integer(0)]),
        .array([.integer(1), .integer(0), .integer(0), .integer(0), .array([])]),
        .array([.bulk(Array("1".utf8)), .null, .integer(0), .integer(0), .array([])]),
        .array([.bulk(Array("1".utf8)), .integer(0), .bulk(Array("x".utf8)), .integer(0), .array([])]),
        .array([.bulk(Array("1".utf8)), .integer(0), .integer(0), .integer(0), .null]),
    ])
    func outcomeRefusesAMalformedReply(reply: RedisValue) {
        #expect(throws: RedisError.unexpectedReply("aggregation script")) {
            try AggregationOutcome(reply)
        }
    }

    // MARK: realtime message

    /// Dimensions as the gateway derives them: the referrer source and the country are public, the
    /// others (and whatever a query held) stay out of the live message.
    static let derived: EventDimensions = {
        var dimensions = EventDimensions()
        dimensions.host = "example.com"
        dimensions.path = "/blog/post"
        dimensions.referrerSource = "Hacker News"
        dimensions.utmCampaign = "s3cr3t-campaign"
        dimensions.browser = "Firefox"
        dimensions.country = "FR"
        return dimensions
    }()

    @Test func realtimeMessageCarriesOnlyPublicFields() throws {
        let secret = "s3cr3t-token"
        let batch = AggregationBatch([
            entry(
                "1-0",
                event(
                    1, "cv_theme_view", data: #"{"theme":"dark","email":"\#(secret)@example.com"}"#, visitor: Self.visitorB,
                    at: Self.nov27 + 1_000, url: "https://example.com/cv?token=\(secret)#\(secret)")),
            entry("1-1", event(2, "letter_generated", data: #"{"type":"motivation","note":"\#(secret)"}"#, at: Self.nov27 + 2_000)),
            entry(
                "1-2",
                event(
                    3, "click", data: #"{"x":"\#(secret)"}"#, at: Self.nov27 + 3_000, url: "/blog/post?ref=\(secret)",
                    dimensions: Self.derived)),
        ])
        let bytes = RealtimeUpdate.message(
            events: batch.entries, currentVisitors: 4, uniqueToday: 9, nowMilliseconds: Self.nov27 + 5_999)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(
            text == #"{"type":"batch","events":["#
                + #"{"event_type":"cv_theme_view","timestamp":1795737601000,"page":"/cv","theme":"dark"},"#
                + #"{"event_type":"letter_generated","timestamp":1795737602000,"letter_type":"motivation"},"#
                + #"{"event_type":"click","timestamp":1795737603000,"page":"/blog/post","referrer":"Hacker News","country":"FR"}],"#
                + #""stats":{"current_visitors":4,"unique_today":9,"timestamp":1795737605}}"#)
        #expect(!text.contains(secret))
        for visitor in [Self.visitorA, Self.visitorB] {
            #expect(!text.lowercased().contains(visitor.lowercasedString))
            #expect(!text.lowercased().contains(visitor.lowercasedString.replacingOccurrences(of: "-", with: "")))
        }
        #expect(!text.contains("event_data"))
        #expect(!text.contains("email"))
        #expect(!text.contains("s3cr3t-campaign") && !text.contains("Firefox"))
        let parsed = try JSONScanner.parse(bytes)
        #expect(parsed["events"]?.kind == .array)
    }

    @Test func realtimeMessageEscapesThemes() throws {
        let batch = AggregationBatch([
            entry("1-0", event(1, "cv_theme_view", data: #"{"theme":"a \"quoted\" \\ theme"}"#))
        ])
        let bytes = RealtimeUpdate.message(events: batch.entries, currentVisitors: 0, uniqueToday: 0, nowMilliseconds: 0)
        let parsed = try JSONScanner.parse(bytes)
        #expect(parsed["stats"]?["timestamp"] != nil)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#""theme":"a \"quoted\" \\ theme""#))
    }

    @Test func realtimeMessageWithoutEvents() {
        let text = String(
            decoding: RealtimeUpdate.message(events: [], currentVisitors: 1, uniqueToday: 2, nowMilliseconds: 3_000),
            as: UTF8.self)
        #expect(text == #"{"type":"batch","events":[],"stats":{"current_visitors":1,"unique_today":2,"timestamp":3}}"#)
    }

    @Test(arguments: [
        ("https://example.com/cv?token=abc#frag", "/cv"),
        ("http://example.com", "/"),
        ("https://example.com/", "/"),
        ("https://user:pw@example.com:8443/a/b/", "/a/b/"),
        ("/blog/post?x=1", "/blog/post"),
        ("/a#b", "/a"),
        ("/", "/"),
        ("/?q=1", "/"),
    ])
    func publicPath(url: String, expected: String) {
        #expect(RealtimeUpdate.publicPath(url) == expected)
    }

    @Test(arguments: ["", "relative/path", "example.com/cv", "?q=1", "#top", "mailto:a@example.com"])
    func publicPathRefusesNonPaths(url: String) {
        #expect(RealtimeUpdate.publicPath(url) == nil)
    }

    @Test func publicPathIsBounded() throws {
        let long = "/" + String(repeating: "a", count: 1_000)
        let path = try #require(RealtimeUpdate.publicPath("https://example.com\(long)?q"))
        #expect(path.count == 256)
        #expect(path.hasPrefix("/aaa"))
    }

    @Test func publicPathOfAURLWithoutAPathButWithAQuery() {
        // No path: the query (which may carry tokens) must not become the path.
        #expect(RealtimeUpdate.publicPath("https://example.com?next=/account/reset/s3cr3t") == "/")
        #expect(RealtimeUpdate.publicPath("https://example.com#/private/s3cr3t") == "/")
        #expect(RealtimeUpdate.publicPath("https://user:pw@example.com:8443?next=/a/s3cr3t#/b") == "/")
        #expect(RealtimeUpdate.publicPath("http://example.com/?next=/s3cr3t") == "/")
    }

    @Test func publicPathOfARelativeURLWithAURLInItsQuery() {
        // A relative page URL whose query holds an absolute URL (a "next" or "redirect" parameter):
        // the "://" of the query is not a scheme, and nothing of the query may become the path.
        #expect(RealtimeUpdate.publicPath("/login?next=https://example.com/reset/s3cr3t") == "/login")
        #expect(RealtimeUpdate.publicPath("/a#b=http://x/s3cr3t") == "/a")
    }
}
