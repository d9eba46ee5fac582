import AnalyticsCore
import ArchiverKit
import Foundation
import TestSupport
import Testing

/// The history API end to end: events with known pages, referrers, campaign tags, user agents and
/// client addresses (a GeoIP fixture) go through the gateway; the archiver stores them and keeps the
/// rollups; every timeseries and breakdown must equal what the test sent — with the archiver killed
/// mid-batch, after a retention pass has archived the days, and after the rollups are rebuilt from
/// scratch by importing the archive files.
@Suite("History end to end", .serialized)
struct HistoryEndToEndTests {
    /// A visitor the test plays: its address and user agent, and what they must give.
    struct Visitor {
        let address: String
        let userAgent: String
        let country: String
        let browser: String
        let os: String
        let device: String
    }

    static let visitors = [
        Visitor(
            address: "192.0.2.10",
            userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Safari/537.36",
            country: "FR", browser: "Chrome", os: "Windows", device: "desktop"),
        Visitor(
            address: "192.0.2.11",
            userAgent:
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1",
            country: "FR", browser: "Safari", os: "iOS", device: "mobile"),
        Visitor(
            address: "198.51.100.7", userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0",
            country: "DE", browser: "Firefox", os: "Linux", device: "desktop"),
        Visitor(
            address: "203.0.113.5",
            userAgent:
                "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-T870) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/20.0 Chrome/106.0.5249.126 Safari/537.36",
            country: "JP", browser: "Samsung Internet", os: "Android", device: "tablet"),
        Visitor(
            address: "2001:db8:1::42",
            userAgent:
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36 Edg/134.0.0.0",
            country: "US", browser: "Edge", os: "macOS", device: "desktop"),
        Visitor(
            address: "10.1.2.3",
            userAgent:
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Mobile Safari/537.36",
            country: "", browser: "Chrome", os: "Android", device: "mobile"),
        Visitor(
            address: "198.51.100.8",
            userAgent:
                "Mozilla/5.0 (iPad; CPU OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/135.0.7049.53 Mobile/15E148 Safari/604.1",
            country: "DE", browser: "Chrome", os: "iOS", device: "tablet"),
        Visitor(
            address: "192.0.2.12", userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:137.0) Gecko/20100101 Firefox/137.0",
            country: "FR", browser: "Firefox", os: "Windows", device: "desktop"),
    ]
    static let pages = ["/", "/pricing", "/blog/hello", "/docs"]
    /// Referrers and the source each must give.
    static let referrers: [(url: String?, source: String)] = [
        (nil, ""), ("https://www.google.com/search?q=analytics", "Google"), ("https://news.ycombinator.com/item?id=1", "Hacker News"),
        ("https://site.test/other", ""), ("https://blog.example.org/post?ref=feed", "blog.example.org"),
    ]
    /// Query strings and the campaign tags they carry (source, medium, campaign).
    static let campaigns: [(query: String, tags: [String])] = [
        ("", ["", "", ""]),
        ("?utm_source=newsletter&utm_medium=email&utm_campaign=winter&session=secret", ["newsletter", "email", "winter"]),
        ("?utm_source=twitter&utm_campaign=launch", ["twitter", "", "launch"]),
    ]

    /// One event the test sends, with everything the history must say of it.
    struct Sent {
        let visitor: Int
        let type: String
        let values: [String: String]
    }

    static func plan(_ i: Int) -> (body: String, headers: [(String, String)], sent: Sent) {
        let visitor = visitors[i % visitors.count]
        let page = pages[(i / 3) % pages.count]
        let referrer = referrers[i % referrers.count]
        let campaign = campaigns[i % campaigns.count]
        let type = i % 7 == 0 ? "signup" : "pageview"
        var body = #"{"event_type":"\#(type)","page_url":"https://site.test\#(page)\#(campaign.query)""#
        if let url = referrer.url { body += #","referrer":"\#(url)""# }
        body += "}"
        let values = [
            "page": page, "host": "site.test", "referrer": referrer.source, "utm_source": campaign.tags[0],
            "utm_medium": campaign.tags[1], "utm_campaign": campaign.tags[2], "browser": visitor.browser, "os": visitor.os,
            "device": visitor.device, "country": visitor.country, "event_type": type,
        ]
        let headers = [("User-Agent", visitor.userAgent), ("X-Forwarded-For", visitor.address)]
        return (body, headers, Sent(visitor: i % visitors.count, type: type, values: values))
    }

    /// What a breakdown must answer: value → [events, pageviews, visitors].
    static func expected(_ sent: [Sent], dimension: String, where filters: [String: String] = [:]) -> [String: [Int]] {
        var rows: [String: (events: Int, pageviews: Int, visitors: Set<Int>)] = [:]
        for event in sent where filters.allSatisfy({ event.values[$0.key] == $0.value }) {
            let value = event.values[dimension]!
            rows[value, default: (0, 0, [])].events += 1
            if event.type == "pageview" { rows[value]!.pageviews += 1 }
            rows[value]!.visitors.insert(event.visitor)
        }
        return rows.mapValues { [$0.events, $0.pageviews, $0.visitors.count] }
    }

    static func breakdown(_ stack: ServiceStack, _ query: String) async throws -> [String: [Int]] {
        let answer = try await stack.http.get("/api/analytics/breakdown?\(query)&limit=1000")
        #expect(answer.status == 200, "\(query): \(answer.body)")
        var rows: [String: [Int]] = [:]
        for row in answer.data["rows"] as? [[String: Any]] ?? [] {
            rows[row["value"] as? String ?? "?"] = [row["events"], row["pageviews"], row["visitors"]].map { ($0 as? Int) ?? -1 }
        }
        return rows
    }

    static func timeseries(_ stack: ServiceStack, _ query: String) async throws -> [Int] {
        let answer = try await stack.http.get("/api/analytics/timeseries?\(query)")
        #expect(answer.status == 200, "\(query): \(answer.body)")
        return (answer.data["points"] as? [[String: Any]] ?? []).map { ($0["value"] as? Int) ?? -1 }
    }

    /// Every breakdown, filtered and not, and the timeseries, against what was sent.
    static func verify(_ stack: ServiceStack, _ sent: [Sent], day: String, _ moment: Comment) async throws {
        let range = "from=\(day)&to=\(day)"
        for dimension in [
            "page", "host", "referrer", "utm_source", "utm_medium", "utm_campaign", "browser", "os", "device", "country", "event_type",
        ] {
            let found = try await breakdown(stack, "dimension=\(dimension)&\(range)")
            #expect(found == expected(sent, dimension: dimension), "\(dimension), \(moment)")
        }
        let referrersOfPricing = try await breakdown(stack, "dimension=referrer&filter=page:/pricing&\(range)")
        #expect(referrersOfPricing == expected(sent, dimension: "referrer", where: ["page": "/pricing"]), "\(moment)")
        let mobileChromeCountries = try await breakdown(stack, "dimension=country&filter=browser:Chrome&filter=device:mobile&\(range)")
        #expect(
            mobileChromeCountries == expected(sent, dimension: "country", where: ["browser": "Chrome", "device": "mobile"]), "\(moment)")
        let campaignPages = try await breakdown(stack, "dimension=page&filter=utm_campaign:winter&metric=pageviews&\(range)")
        #expect(campaignPages == expected(sent, dimension: "page", where: ["utm_campaign": "winter"]), "\(moment)")

        let totals = expected(sent, dimension: "host")["site.test"] ?? [0, 0, 0]
        #expect(try await timeseries(stack, "metric=events&\(range)") == [totals[0]], "\(moment)")
        #expect(try await timeseries(stack, "metric=pageviews&interval=week&\(range)") == [totals[1]], "\(moment)")
        #expect(try await timeseries(stack, "metric=visitors&interval=month&\(range)") == [totals[2]], "\(moment)")
        let hours = try await timeseries(stack, "metric=events&interval=hour&\(range)")
        #expect(hours.count == 24 && hours.reduce(0, +) == totals[0], "\(moment)")
        let french = expected(sent, dimension: "country")["FR"] ?? [0, 0, 0]
        #expect(try await timeseries(stack, "metric=visitors&filter=country:FR&\(range)") == [french[2]], "\(moment)")
        let frenchHours = try await timeseries(stack, "metric=pageviews&interval=hour&filter=country:FR&\(range)")
        #expect(frenchHours.reduce(0, +) == french[1], "\(moment)")

        let csv = try await stack.http.get("/api/analytics/export.csv?dimension=browser&metric=events&\(range)")
        #expect(csv.status == 200)
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        let lines = csv.body.split(separator: "\r\n")
        #expect(lines.first == "browser,events,pageviews,visitors")
        let browsers = expected(sent, dimension: "browser")
        let top = browsers.max { ($0.value[0], $1.key) < ($1.value[0], $0.key) }!
        #expect(lines.dropFirst().first == "\(top.key),\(top.value[0]),\(top.value[1]),\(top.value[2])", "\(moment)")
        #expect(lines.count == browsers.count + 1)
    }

    @Test func everyTimeseriesAndBreakdownEqualsWhatWasSentThroughCrashesRetentionAndImport() async throws {
        // The test's events must share one UTC day (visitors are counted per day).
        let untilMidnight = 86_400_000 - EpochClock.milliseconds() % 86_400_000
        if untilMidnight < 240_000 { try await Task.sleep(for: .milliseconds(untilMidnight + 1000)) }
        let fixtures = TemporaryDirectory("geoip")
        let geoIP = try await GeoIPFixture.build(in: fixtures)
        let stack = try await ServiceStack(extraEnvironment: [
            "ANALYTICS_GEOIP_DB": geoIP, "ANALYTICS_TRUSTED_PROXIES": "127.0.0.1/32,::1/128", "ANALYTICS_BOT_FILTER": "on",
        ])
        defer { Task { await stack.shutdown() } }
        let day = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date.isoString

        var sent: [Sent] = []
        for i in 0..<140 {
            let (body, headers, event) = Self.plan(i)
            let answer = try await stack.http.post("/api/analytics/event", body: body, headers: headers)
            #expect(answer.status == 201, "\(answer.body)")
            sent.append(event)
        }
        #expect(await eventually(timeout: .seconds(30)) { (try? stack.storedEvents()) == sent.count })
        try await Self.verify(stack, sent, day: day, "after the first events")

        // More events while the archiver is killed mid-batch, again and again.
        let more = Task {
            var events: [Sent] = []
            for i in 140..<400 {
                let (body, headers, event) = Self.plan(i)
                if (try? await stack.http.post("/api/analytics/event", body: body, headers: headers))?.status == 201 {
                    events.append(event)
                }
                try? await Task.sleep(for: .milliseconds(8))
            }
            return events
        }
        try await stack.crashRepeatedly(stack.archiver, times: 3, every: .milliseconds(700))
        sent += await more.value
        #expect(sent.count == 400)
        #expect(await eventually(timeout: .seconds(60)) { (try? stack.storedEvents()) == sent.count })
        try await Self.verify(stack, sent, day: day, "after the archiver was killed mid-batch")

        // The retention pass, run as if 100 days had gone by: the day is archived and its raw events dropped.
        let archiver = BuildProducts.executable(ServiceExecutable.archiver.rawValue)
        let retention = try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/faketime"), arguments: ["-f", "+100d", archiver.path, "retention"],
            environment: stack.environment.merging(["ANALYTICS_ADMIN_PORT": String(FreePort.next())]) { $1 },
            logDirectory: fixtures.url, name: "retention")
        #expect(await retention.waitForExit(timeout: .seconds(120)) == 0, "\(retention.output)")
        #expect(try stack.storedEvents() == 0)
        try await Self.verify(stack, sent, day: day, "after the retention pass")

        // The history rebuilt from nothing but the archive file.
        _ = try stack.postgres.psql(
            """
            DELETE FROM analytics_rollup_days; DELETE FROM analytics_rollup_hours; DELETE FROM analytics_rollup_archived_hours;
            DELETE FROM analytics_archive_files;
            """)
        let file = stack.archiveDirectory.url.appendingPathComponent("analytics-events-\(day).ndjson.gz")
        let imported = try await stack.archiverCommand(["import", file.path])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(try stack.storedEvents() == sent.count)
        try await Self.verify(stack, sent, day: day, "after importing the archive")

        // Nothing anywhere holds the user agents or the addresses.
        let dump = try stack.postgres.psql("SELECT string_agg(t::text, ' ') FROM analytics_events t")
        for visitor in Self.visitors {
            #expect(!dump.contains(visitor.address) && !dump.contains("Gecko"))
        }
        #expect(!dump.contains("session=secret"))
    }

    @Test func aStatsTokenGuardsTheHistoryButNotTheRealtimeRoutes() async throws {
        let token = "history-token-0123456789"
        let stack = try await ServiceStack(extraEnvironment: ["ANALYTICS_STATS_TOKEN": token])
        defer { Task { await stack.shutdown() } }
        for path in ["/api/analytics/timeseries", "/api/analytics/breakdown?dimension=page", "/api/analytics/export.csv"] {
            let refused = try await stack.http.get(path)
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try await stack.http.get(path, headers: [("Authorization", "Bearer wrong-token-0123456789")]).status == 401)
            #expect(try await stack.http.get(path, headers: [("Authorization", "Bearer \(token)")]).status == 200)
        }
        #expect(try await stack.http.get("/api/analytics/realtime").status == 200)
        // A bad parameter is named, once authorised.
        let bad = try await stack.http.get("/api/analytics/breakdown?dimension=city", headers: [("Authorization", "Bearer \(token)")])
        #expect(bad.status == 400)
        #expect((bad.json["error"] as? String)?.hasPrefix("dimension:") == true)
    }

    @Test func theHistoryAnswers503WithoutInternalDetailWhenPostgreSQLIsDown() async throws {
        let stack = try await ServiceStack(extraEnvironment: ["ANALYTICS_QUERY_TIMEOUT_SEC": "2"])
        defer { Task { await stack.shutdown() } }
        await stack.postgres.stop()
        let answer = try await stack.http.get("/api/analytics/timeseries", timeout: .seconds(10))
        #expect(answer.status == 503)
        #expect(answer.header("Retry-After") != nil)
        #expect(!answer.body.contains("postgres") && !answer.body.contains("connect"))
        // Ingest does not depend on PostgreSQL.
        #expect(try await stack.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#).status == 201)
    }

    /// Writes `events` as an archive file and imports it with the archiver's `import` command.
    static func importEvents(_ events: [AnalyticsEvent], _ stack: ServiceStack, name: String) async throws {
        let lines = events.map { String(decoding: ArchiveLine.encode($0), as: UTF8.self) }
        let file = stack.archiveDirectory.url.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let importing = try await stack.archiverCommand(["import", file.path])
        #expect(importing.status == 0 && importing.output.contains("\(events.count) new"), "\(importing.output)")
    }

    @Test func breakdownsOverClosedWeeksEqualThoseOverTheirDaysThroughLateEventsAndARebuild() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let today = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date.daysSinceEpoch
        let ids = UUIDv7Generator()
        let people = (0..<12).map { _ in UUID() }
        var sent: [Sent] = []
        /// Events from `age` days ago, one every `step` hours, `count` of them.
        func events(from age: Int, count: Int, step: Int64, offset: Int) -> [AnalyticsEvent] {
            (0..<count).map { i in
                let n = i + offset
                let ms = Int64(today - age) * 86_400_000 + Int64(i) * step * 3_600_000 + 60_000
                let page = Self.pages[n % Self.pages.count]
                let referrer = Self.referrers[n % Self.referrers.count]
                let type = n % 5 == 0 ? "signup" : "pageview"
                let dimensions = EventDimensions(
                    pageURL: "https://site.test\(page)", referrer: referrer.url,
                    userAgent: UserAgentDimensions(
                        browser: n % 2 == 0 ? "Chrome" : "Firefox", browserMajor: "135", os: "Linux", device: .desktop),
                    country: n % 3 == 0 ? "FR" : "DE")
                let visitor = n % people.count
                sent.append(
                    Sent(
                        visitor: visitor, type: type,
                        values: [
                            "page": page, "referrer": referrer.source, "browser": dimensions.browser, "country": dimensions.country,
                            "day": String(today - age + Int(Int64(i) * step / 24)),
                        ]))
                return AnalyticsEvent(
                    id: ids.next(nowMilliseconds: ms), visitorID: people[visitor], eventType: type, pageURL: "https://site.test\(page)",
                    referrer: referrer.url, createdAt: ms, dimensions: dimensions)
            }
        }
        // Six weeks up to yesterday, every 5 hours.
        try await Self.importEvents(events(from: 42, count: 41 * 24 / 5, step: 5, offset: 0), stack, name: "weeks.ndjson")
        let closed = try stack.postgres.psql("SELECT analytics_close_weeks()")
        #expect(Int(closed) ?? 0 >= 5, "closed \(closed) weeks")

        /// Every range checked: whole weeks only, and weeks with days around them.
        func check(_ moment: Comment) async throws {
            for (first, last) in [(42, 1), (35, 8), (40, 3), (20, 20)] {
                let from = CivilDate(daysSinceEpoch: today - first)
                let to = CivilDate(daysSinceEpoch: today - last)
                let inRange = sent.filter { (Int($0.values["day"]!)!) >= today - first && (Int($0.values["day"]!)!) <= today - last }
                for dimension in ["page", "referrer", "browser", "country"] {
                    let found = try await Self.breakdown(stack, "dimension=\(dimension)&from=\(from.isoString)&to=\(to.isoString)")
                    #expect(
                        found == Self.expected(inRange, dimension: dimension), "\(dimension) \(from.isoString)…\(to.isoString), \(moment)")
                }
            }
        }
        try await check("once the weeks are closed")
        // Late events of closed weeks (an import; a lagging archiver goes the same way).
        try await Self.importEvents(events(from: 30, count: 40, step: 11, offset: 7), stack, name: "late.ndjson")
        try await check("after late events")
        let rebuild = try await stack.archiverCommand(["rebuild", "--since", CivilDate(daysSinceEpoch: today - 25).isoString])
        #expect(rebuild.status == 0, "\(rebuild.output)")
        try await check("after a rebuild")
    }
}
