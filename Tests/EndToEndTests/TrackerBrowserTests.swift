import AnalyticsCore
import Foundation
import RedisClient
import TestSupport
import Testing

/// The tracker script (tracker/analytics.js) as a site's visitors run it: headless Chromium loads
/// pages of another site (`http://localhost:<port>`) that include the script from the gateway
/// (`http://127.0.0.1:<port>/js/analytics.js`), and what it sends is checked where it ends up,
/// in PostgreSQL and Redis, through the real gateway, aggregator and archiver.
@Suite("Tracker in a real browser, end to end")
struct TrackerBrowserTests {
    /// An event as the archiver stored it; `data` is its `event_data` as compact JSON with sorted keys
    /// (`{}` when the event had none).
    struct StoredEvent: Equatable, CustomStringConvertible {
        let type: String
        let pageURL: String?
        let data: String
        let referrer: String?

        init(_ type: String, _ pageURL: String?, data: String = "{}", referrer: String? = nil) {
            self.type = type
            self.pageURL = pageURL
            self.data = data
            self.referrer = referrer
        }

        var description: String {
            "\(type) \(pageURL ?? "-") \(data) referrer=\(referrer ?? "-")"
        }
    }

    /// A desktop Chrome's: Chromium's headless one says `HeadlessChrome`, which is a crawler's
    /// signature, and the test is about a visitor's browser, not about bot filtering.
    static let userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

    @Test("The tracker on another site's page gets every kind of event into PostgreSQL and Redis, and nothing from an excluded visit")
    func trackerInHeadlessChromium() async throws {
        let pages = try await StaticPageServer()
        // Only the pages' origin may send events: the browser's requests carry it.
        let stack = try await ServiceStack(extraEnvironment: ["ANALYTICS_ALLOWED_ORIGINS": pages.origin])
        defer { Task { await stack.shutdown() } }
        let browser = try await WebDriverSession.start(userAgent: Self.userAgent)
        do {
            try await visit(pages: pages, stack: stack, browser: browser)
        } catch {
            let log = (try? await browser.browserLog()) ?? ""
            await browser.close()
            await pages.stop()
            throw TestSupportError("\(error)\nbrowser console:\n\(log)")
        }
        await browser.close()
        await pages.stop()
    }

    private func visit(pages: StaticPageServer, stack: ServiceStack, browser: WebDriverSession) async throws {
        let site = pages.origin
        let landing = "\(site)/landing.html"
        let page = "\(site)/shop/index.html?utm_source=test"
        let download = "\(site)/files/report.pdf"
        let outbound = "https://example.org/elsewhere"
        pages.serve("/landing.html", html: Self.landingPage(linkingTo: page + "#intro"))
        pages.serve(
            "/shop/index.html", html: try Self.trackedPage(gateway: stack.http.baseURL, download: "/files/report.pdf", outbound: outbound))
        var stored: [StoredEvent] = []

        // Load: the pageview (no fragment; the referrer is the landing page) and the call queued
        // before the script loaded.
        try await browser.navigate(to: landing)
        try await browser.click("#enter")
        let entered = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? await browser.evaluate(
                "return location.href === arguments[0] && document.readyState === 'complete' && window.analytics.loaded === 1",
                arguments: [page + "#intro"], as: Bool.self)) == true
        }
        let location = (try? await browser.currentURL()) ?? "?"
        #expect(entered, "the tracked page did not load: \(location)")
        stored = try await expectNewEvents(
            [
                StoredEvent("pageview", page, referrer: landing),
                StoredEvent("queued_before_load", page, data: #"{"n":1}"#),
            ], after: stored, step: "load", stack: stack, browser: browser)

        // SPA navigations: a pageview for each new URL, pageviews keep the page's referrer.
        try await browser.execute("history.pushState({}, '', '/spa/one')")
        stored = try await expectNewEvents(
            [StoredEvent("pageview", "\(site)/spa/one", referrer: landing)], after: stored, step: "pushState", stack: stack,
            browser: browser)
        try await browser.execute("history.replaceState({}, '', '/spa/two')")
        stored = try await expectNewEvents(
            [StoredEvent("pageview", "\(site)/spa/two", referrer: landing)], after: stored, step: "replaceState", stack: stack,
            browser: browser)
        try await browser.execute("history.back()")
        stored = try await expectNewEvents(
            [StoredEvent("pageview", page, referrer: landing)], after: stored, step: "back (popstate)", stack: stack, browser: browser)

        // The same URL again, then only another fragment: no pageview. The custom event after them
        // is the only new event.
        try await browser.execute("history.pushState({}, '', location.href); history.pushState({}, '', '#other')")
        try await browser.execute("window.analytics.track('signup', {plan: 'pro'})")
        stored = try await expectNewEvents(
            [StoredEvent("signup", page, data: #"{"plan":"pro"}"#)], after: stored, step: "same URL, then track", stack: stack,
            browser: browser)

        // Clicks: the tracker sends from its capture-phase listener; the page's own listener keeps
        // the browser where it is (preventDefault), so the script must not have needed the navigation.
        try await browser.click("#outbound")
        stored = try await expectNewEvents(
            [StoredEvent("outbound_click", page, data: #"{"url":"\#(outbound)"}"#)], after: stored, step: "outbound click", stack: stack,
            browser: browser)
        try await browser.click("#download")
        stored = try await expectNewEvents(
            [StoredEvent("file_download", page, data: #"{"url":"\#(download)"}"#)], after: stored, step: "download click", stack: stack,
            browser: browser)
        #expect(try await browser.currentURL() == page + "#other")
        #expect(!pages.requestedPaths.contains("/files/report.pdf"))

        // An excluded visit: the script runs, and sends nothing.
        let counted = try await settledCount(stack, expected: stored.count)
        try await browser.execute("localStorage.analytics_ignore = 'true'")
        try await browser.refresh()
        let running = try await browser.evaluate(
            "return window.analytics.loaded === 1 && typeof window.analytics.track === 'function' && !('q' in window.analytics)",
            as: Bool.self)
        #expect(running, "the tracker should have started on the excluded visit too")
        try await browser.execute("history.pushState({}, '', '/spa/ignored')")
        try await browser.click("#outbound")
        try await browser.click("#download")
        try await browser.execute("window.analytics.track('ignored', {n: 2}); window.analytics.pageview()")
        try await Task.sleep(for: .seconds(3))
        let afterExcludedVisit = try storedEvents(stack)
        #expect(afterExcludedVisit == stored, "an excluded visit sent events: \(afterExcludedVisit)")
        #expect(try await stack.countedEvents() == counted)

        // Once the exclusion is lifted, the next event arrives alone: nothing of the excluded visit was
        // merely late.
        try await browser.execute("localStorage.removeItem('analytics_ignore'); window.analytics.track('after_ignore', {ok: true})")
        stored = try await expectNewEvents(
            [StoredEvent("after_ignore", "\(site)/spa/ignored", data: #"{"ok":true}"#)], after: stored, step: "exclusion lifted",
            stack: stack, browser: browser)
        try await Task.sleep(for: .seconds(1))
        #expect(try storedEvents(stack) == stored, "PostgreSQL holds other events than the browser's")

        // Each event has its own id, chosen by the tracker: a version 7 UUID.
        let ids = try stack.postgres.psql("SELECT id FROM analytics_events").split(separator: "\n").map(String.init)
        #expect(ids.count == stored.count && Set(ids).count == ids.count, "ids: \(ids)")
        for id in ids {
            #expect(Self.isVersion7(id), "\(id) is not a version 7 UUID")
        }

        // Redis: the aggregator counted every event once, from one visitor.
        #expect(try await settledCount(stack, expected: stored.count) == stored.count)
        let visitors = try stack.postgres.psql("SELECT DISTINCT visitor_id FROM analytics_events").split(separator: "\n").map(String.init)
        let days = try stack.postgres.psql("SELECT count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) FROM analytics_events")
        // (Unless the visit spans UTC midnight: the cookieless id changes with the day's salt.)
        #expect(String(visitors.count) == days, "visitor ids of the browser's events: \(visitors)")
        let uniqueKeys = try await stack.client.send("KEYS", stack.keyspace.uniqueVisitors(.day, "*")).array?.compactMap(\.string) ?? []
        #expect(String(uniqueKeys.count) == days)
        for key in uniqueKeys {
            #expect(try await stack.client.send("PFCOUNT", key).int == 1, "\(key)")
        }

        // Cross-site requests: the gateway set no cookie, and the browser sent none, so each event
        // has the cookieless id of the browser's address and user agent: the id that the gateway
        // gives, with a cookie, to a same-site request from them.
        let probe = try await stack.http.post(
            "/api/analytics/event", body: #"{"event_type":"probe"}"#, headers: [("User-Agent", Self.userAgent)])
        #expect(probe.status == 201)
        let cookie = probe.header("Set-Cookie") ?? ""
        // The cookie is the id, a dot and its MAC.
        let cookieless = cookie.split(separator: ";").first.map { String($0.dropFirst("analytics_vid=".count).prefix(36)) } ?? ""
        #expect(cookie.hasPrefix("analytics_vid="), "the probe got no cookie: \(cookie)")
        #expect(visitors.contains(cookieless), "browser's visitor ids \(visitors), cookieless id \(cookieless)")
    }

    @Test("Events carry the tracker's version 7 ids; one whose fetch failed is sent again, later or by the next page, and stored once")
    func retriedEventsAreStoredOnce() async throws {
        let pages = try await StaticPageServer()
        let stack = try await ServiceStack(extraEnvironment: ["ANALYTICS_ALLOWED_ORIGINS": pages.origin])
        defer { Task { await stack.shutdown() } }
        let browser = try await WebDriverSession.start(userAgent: Self.userAgent)
        do {
            try await retry(pages: pages, stack: stack, browser: browser)
        } catch {
            let log = (try? await browser.browserLog()) ?? ""
            await browser.close()
            await pages.stop()
            throw TestSupportError("\(error)\nbrowser console:\n\(log)")
        }
        await browser.close()
        await pages.stop()
    }

    /// The gateway is stopped while the page sends an event by fetch (beacons refused), then started
    /// again on the same port: the tracker's retry delivers the event, with the id it had. Then an
    /// event whose page is left before its retry: the next page of the site sends it, along with one
    /// already stored (sent again: stored once).
    private func retry(pages: StaticPageServer, stack: ServiceStack, browser: WebDriverSession) async throws {
        let page = "\(pages.origin)/retry/index.html"
        let away = "\(pages.origin)/away.html"
        pages.serve("/retry/index.html", html: Self.recordingPage(gateway: stack.http.baseURL))
        pages.serve("/away.html", html: Self.landingPage(linkingTo: page))
        let start = Int64(Date().timeIntervalSince1970 * 1000)

        // The load pageview, by beacon.
        try await openRecordingPage(page, browser: browser)
        #expect(await eventually(timeout: .seconds(30), interval: .milliseconds(100)) { (try? rows(of: "pageview", in: stack)) == 1 })
        let sentOnLoad = try await browser.evaluate(Self.idsSent, as: [String].self)
        #expect(sentOnLoad.count == 1, "sent by the first page on load: \(sentOnLoad)")

        // The gateway is gone and the browser refuses beacons: the tracker falls back on fetch, which
        // fails; the event waits, in localStorage too.
        try await browser.execute("window.refuseBeacons = true")
        await stack.gateway.stop()
        try await browser.execute("window.analytics.track('retry_test', {n: 1})")
        #expect(await fetchFailed("retry_test", browser: browser), "the fetch of retry_test did not fail, or the event is not pending")

        // The gateway is back before the second retry (2 s, then 4 s later): the same body arrives
        // and is stored once.
        try await restartGateway(stack)
        let retried = await eventually(timeout: .seconds(40), interval: .milliseconds(200)) {
            (try? rows(of: "retry_test", in: stack)) == 1
        }
        #expect(retried, "retry_test did not arrive after the gateway came back:\n\(stack.gateway.output)")
        try await Task.sleep(for: .seconds(2))
        #expect(try rows(of: "retry_test", in: stack) == 1)
        let retryBodies = try await browser.evaluate(Self.bodiesFetched, arguments: ["retry_test"], as: [String].self)
        #expect(retryBodies.count >= 2 && Set(retryBodies).count == 1, "retry_test was not sent again as it was: \(retryBodies)")
        let retryBody = try #require(retryBodies.first)
        let retryID = try #require(Self.id(in: retryBody), "no id in \(retryBody)")
        #expect(try stack.postgres.psql("SELECT id FROM analytics_events WHERE event_type = 'retry_test'") == retryID)
        let results = try await browser.evaluate("return fetchResults", as: [String].self)
        #expect(results.first == "retry_test failed" && results.last == "retry_test 201", "fetch results: \(results)")
        #expect(await pendingIsEmpty(browser), "the delivered event is still pending")

        // Gone again: this event's page is left before its first retry. The next page of the site
        // sends it when it loads, and with it (put back into the list) the event already stored.
        await stack.gateway.stop()
        try await browser.execute("window.analytics.track('next_page', {n: 2})")
        #expect(await fetchFailed("next_page", browser: browser), "the fetch of next_page did not fail, or the event is not pending")
        let nextPageBodies = try await browser.evaluate(Self.bodiesFetched, arguments: ["next_page"], as: [String].self)
        let nextPageBody = try #require(nextPageBodies.first)
        let sentByFirstPage = try await browser.evaluate(Self.idsSent, as: [String].self)
        try await browser.navigate(to: away)
        try await restartGateway(stack)
        try await browser.execute(
            "var p = JSON.parse(localStorage.analytics_pending); p.unshift(arguments[0]); "
                + "localStorage.analytics_pending = JSON.stringify(p)",
            arguments: [retryBody])
        try await openRecordingPage(page, browser: browser)
        let delivered = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? rows(of: "next_page", in: stack)) == 1 && (try? rows(of: "pageview", in: stack)) == 2
        }
        #expect(delivered, "next_page did not arrive from the next page")
        #expect(await pendingIsEmpty(browser), "the events sent on load are still pending")
        let resent = try await browser.evaluate("return fetches", as: [String].self)
        #expect(resent.sorted() == [retryBody, nextPageBody].sorted(), "sent again on load: \(resent)")
        let sentBySecondPage = try await browser.evaluate(Self.idsSent, as: [String].self)
        try await Task.sleep(for: .seconds(2))
        #expect(try rows(of: "retry_test", in: stack) == 1, "the event sent again on load was stored twice")
        let metrics = try await stack.http.get("/metrics").body
        let repeatedLine = metrics.split(separator: "\n").first { $0.hasPrefix("analytics_gateway_events_repeated_total ") }
        let repeated = repeatedLine.flatMap { Double($0.dropFirst("analytics_gateway_events_repeated_total ".count)) } ?? 0
        #expect(repeated >= 1, "the restarted gateway saw no repeated id: \(repeatedLine ?? "no metric")")

        // PostgreSQL holds the ids the pages sent, each once, all version 7 UUIDs of this run's time.
        let stored = try stack.postgres.psql("SELECT id FROM analytics_events").split(separator: "\n").map(String.init)
        #expect(stored.count == 4, "stored ids: \(stored)")
        let sent = Set(sentOnLoad + sentByFirstPage + sentBySecondPage)
        #expect(Set(stored) == sent, "stored ids \(stored), sent \(sent)")
        let end = Int64(Date().timeIntervalSince1970 * 1000)
        for id in stored {
            #expect(Self.isVersion7(id), "\(id) is not a version 7 UUID")
            let milliseconds = Self.milliseconds(ofVersion7: id) ?? 0
            #expect(milliseconds >= start - 60_000 && milliseconds <= end + 60_000, "\(id): not of this run's time")
        }
    }

    /// Loads the recording page and waits for the tracker to have started.
    private func openRecordingPage(_ page: String, browser: WebDriverSession) async throws {
        try await browser.navigate(to: page)
        let started = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? await browser.evaluate(
                "return document.readyState === 'complete' && window.analytics.loaded === 1", as: Bool.self)) == true
        }
        #expect(started, "the tracker did not start on \(page)")
    }

    /// Whether a fetch of an event of that type failed and the event is pending in localStorage.
    private func fetchFailed(_ eventType: String, browser: WebDriverSession) async -> Bool {
        await eventually(timeout: .seconds(10), interval: .milliseconds(100)) {
            (try? await browser.evaluate(
                """
                var type = arguments[0];
                var pending = JSON.parse(localStorage.analytics_pending || '[]');
                return fetchResults.indexOf(type + ' failed') >= 0
                    && pending.some(function (body) { return JSON.parse(body).event_type === type; });
                """, arguments: [eventType], as: Bool.self)) == true
        }
    }

    /// Whether the tracker's list of events waiting for an answer is empty, in localStorage.
    private func pendingIsEmpty(_ browser: WebDriverSession) async -> Bool {
        await eventually(timeout: .seconds(10), interval: .milliseconds(100)) {
            (try? await browser.evaluate("return localStorage.analytics_pending === '[]'", as: Bool.self)) == true
        }
    }

    /// Starts the stopped gateway again, on its port, and waits until it is ready.
    private func restartGateway(_ stack: ServiceStack) async throws {
        try stack.gateway.start()
        let ready = await eventually(timeout: .seconds(30)) { (try? await stack.http.get("/readyz"))?.status == 200 }
        if !ready { throw TestSupportError("the gateway did not come back:\n\(stack.gateway.output)") }
    }

    /// The rows of PostgreSQL with that event type.
    private func rows(of eventType: String, in stack: ServiceStack) throws -> Int {
        Int(try stack.postgres.psql("SELECT count(*) FROM analytics_events WHERE event_type = '\(eventType)'")) ?? -1
    }

    /// Waits until PostgreSQL holds `expected.count` more events than `previous`, and checks that
    /// those are `expected` (in any order: the browser may send one step's events in parallel) and
    /// that the earlier ones are unchanged. Returns all the events.
    private func expectNewEvents(
        _ expected: [StoredEvent], after previous: [StoredEvent], step: String, stack: ServiceStack, browser: WebDriverSession
    ) async throws -> [StoredEvent] {
        let total = previous.count + expected.count
        let arrived = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) { ((try? stack.storedEvents()) ?? 0) >= total }
        let events = try storedEvents(stack)
        if !arrived || events.count != total {
            Issue.record(
                """
                \(step): expected \(total) events, PostgreSQL holds \(events.count):
                \(events.map(\.description).joined(separator: "\n"))
                browser console:
                \((try? await browser.browserLog()) ?? "")
                """)
        }
        let fresh = Array(events.dropFirst(previous.count))
        let unchanged = Array(events.prefix(previous.count)) == previous
        let asExpected = fresh.map(\.description).sorted() == expected.map(\.description).sorted()
        #expect(unchanged, "\(step): earlier events changed")
        #expect(asExpected, "\(step): new events \(fresh), expected \(expected)")
        return unchanged && asExpected ? events : previous + expected
    }

    /// The events in PostgreSQL in the order they were received.
    private func storedEvents(_ stack: ServiceStack) throws -> [StoredEvent] {
        let rows = try stack.postgres.psql(
            """
            SELECT json_build_object('type', event_type, 'page_url', page_url, 'data', event_data, 'referrer', referrer)
            FROM analytics_events ORDER BY created_at, id
            """)
        return try rows.split(separator: "\n").map { line in
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let data = try (row["data"] as? [String: Any]).map {
                String(
                    decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self
                )
            }
            return StoredEvent(
                row["type"] as? String ?? "", row["page_url"] as? String, data: data ?? "null", referrer: row["referrer"] as? String)
        }
    }

    /// Redis's count of events once it reaches `expected` (or what it is after 30 s).
    private func settledCount(_ stack: ServiceStack, expected: Int) async throws -> Int {
        _ = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) { (try? await stack.countedEvents()) == expected }
        return try await stack.countedEvents()
    }

    // MARK: - Pages

    /// A page without the tracker, whose link leads to the tracked page.
    static func landingPage(linkingTo url: String) -> String {
        """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Landing</title><link rel="icon" href="data:,"></head>
        <body><p><a id="enter" href="\(url)">Enter the shop</a></p></body></html>
        """
    }

    /// The tracked page: the queue snippet of tracker/README.md, a call queued before the script
    /// loads, the script from the gateway, an outbound link and a download link whose clicks the
    /// page itself cancels.
    static func trackedPage(gateway: String, download: String, outbound: String) throws -> String {
        """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,">
        \(try queueSnippet())
        <script>analytics.track('queued_before_load', {"n": 1})</script>
        <script defer src="\(gateway)/js/analytics.js"></script>
        <script>
        document.addEventListener('click', function (e) { if (e.target.closest('a.test-link')) e.preventDefault() })
        </script>
        </head><body>
        <h1 id="intro">Shop</h1>
        <p><a id="outbound" class="test-link" href="\(outbound)">Elsewhere</a></p>
        <p><a id="download" class="test-link" href="\(download)">The report</a></p>
        </body></html>
        """
    }

    /// A page with the tracker whose `sendBeacon` and `fetch` record what the tracker sends: `beacons`
    /// (bodies of the beacons queued), `fetches` (bodies) and `fetchResults` (`<event type> <status>`,
    /// or `<event type> failed` when the fetch rejects). `window.refuseBeacons = true` makes sendBeacon
    /// refuse (return false, as when its quota is spent), so that the tracker falls back on fetch.
    static func recordingPage(gateway: String) -> String {
        """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Retries</title><link rel="icon" href="data:,">
        <script>
        window.beacons = []; window.fetches = []; window.fetchResults = []; window.refuseBeacons = false;
        (function () {
          var sendBeacon = navigator.sendBeacon.bind(navigator), fetch = window.fetch;
          navigator.sendBeacon = function (url, body) {
            if (window.refuseBeacons) return false;
            beacons.push(String(body));
            return sendBeacon(url, body);
          };
          window.fetch = function (url, init) {
            var body = String(init && init.body), type = '?';
            try { type = JSON.parse(body).event_type; } catch (e) {}
            fetches.push(body);
            return fetch.apply(window, arguments).then(
              function (answer) { fetchResults.push(type + ' ' + answer.status); return answer; },
              function (error) { fetchResults.push(type + ' failed'); throw error; });
          };
        })();
        </script>
        <script defer src="\(gateway)/js/analytics.js"></script>
        </head><body><h1>Retries</h1></body></html>
        """
    }

    /// In the recording page: the ids of the events sent (by beacon or fetch), each once.
    static let idsSent = """
        var ids = beacons.concat(fetches).map(function (body) { return JSON.parse(body).id; });
        return ids.filter(function (id, i) { return ids.indexOf(id) === i; });
        """

    /// In the recording page: the bodies fetched for events of the type `arguments[0]`, in order.
    static let bodiesFetched = """
        var type = arguments[0];
        return fetches.filter(function (body) { return JSON.parse(body).event_type === type; });
        """

    /// The `id` of an event's JSON body.
    static func id(in body: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["id"] as? String
    }

    /// Whether `id` is a version 7 UUID in its canonical lower-case form: 13th hex digit `7`, variant
    /// bits `10` (17th hex digit 8, 9, a or b).
    static func isVersion7(_ id: String) -> Bool {
        let characters = Array(id)
        guard characters.count == 36 else { return false }
        for (index, character) in characters.enumerated() {
            let valid = [8, 13, 18, 23].contains(index) ? character == "-" : "0123456789abcdef".contains(character)
            if !valid { return false }
        }
        return characters[14] == "7" && "89ab".contains(characters[19])
    }

    /// The Unix milliseconds of a version 7 UUID (its first 48 bits).
    static func milliseconds(ofVersion7 id: String) -> Int64? {
        Int64(String(id.prefix(8)) + String(id.dropFirst(9).prefix(4)), radix: 16)
    }

    /// The inline queue snippet, as tracker/README.md gives it to sites.
    static func queueSnippet() throws -> String {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tracker/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.hasPrefix("<script>window.analytics=window.analytics||") }
        return try #require(line.map(String.init), "no queue snippet in tracker/README.md")
    }
}
