import AnalyticsCore
import Foundation
import RedisClient
import TestSupport
import Testing

/// The whole pipeline, as real processes, at the limits an internet-facing deployment meets:
/// an archiver that is gone long enough for the stream to reach its ceiling, and what is left
/// at rest after a run.
@Suite("Hardening end to end")
struct HardeningEndToEndTests {
    @Test func pastTheCeilingIngestIsRefusedAndOnceTheArchiverReturnsEveryAcceptedEventIsStoredOnce() async throws {
        let stack = try await ServiceStack(extraEnvironment: ["ANALYTICS_STREAM_MAX_EVENTS": "1000"])
        defer { Task { await stack.shutdown() } }
        _ = await stack.archiver.stop()
        let refusedWithRetryAfter = Locked(0)
        let tally = Locked(ServiceStack.LoadTally())
        let stop = Locked(false)
        let load = Task {
            await ServiceStack.load(stack.http, concurrency: 6, stop: stop) { status, retryAfter in
                tally.withLock { if status == 201 { $0.accepted += 1 } else { $0.other += 1 } }
                if status == 503, retryAfter == "30" { refusedWithRetryAfter.withLock { $0 += 1 } }
            }
        }
        // The archiver is gone: the stream fills to its ceiling, then events are refused.
        #expect(await eventually(timeout: .seconds(60)) { refusedWithRetryAfter.value > 50 })
        #expect(try await stack.client.send("XLEN", stack.keyspace.stream).int == 1000)
        let metrics = try await stack.http.get("/metrics").body
        #expect(metrics.contains(#"analytics_gateway_ingest_refused_total{reason="stream_full"}"#))
        #expect(stack.gateway.output.contains("ANALYTICS_STREAM_MAX_EVENTS"))
        // It comes back: the backlog is stored and trimmed, and events are accepted again.
        try stack.archiver.start()
        let acceptedBefore = tally.value.accepted
        #expect(await eventually(timeout: .seconds(60)) { tally.value.accepted > acceptedBefore + 200 })
        stop.withLock { $0 = true }
        await load.value
        let expected = tally.value.accepted
        #expect(tally.value.other == refusedWithRetryAfter.value, "every refusal was a 503 with Retry-After")
        #expect(await eventually(timeout: .seconds(60)) { (try? stack.storedEvents()) == expected })
        #expect(try stack.postgres.psql("SELECT count(DISTINCT id) FROM analytics_events") == String(expected))
        #expect(await eventually { (try? await stack.countedEvents()) == expected })
    }

    @Test func afterARunNoStoreHoldsAClientAddressAUserAgentOrASecretQueryValue() async throws {
        let stack = try await ServiceStack(extraEnvironment: ["ANALYTICS_TRUSTED_PROXIES": "127.0.0.1/32"])
        defer { Task { await stack.shutdown() } }
        let addresses = ["203.0.113.77", "2001:db8:77:1::5", "198.51.100.78"]
        let secrets = ["PRIVTOKEN7731", "PRIVQUERY7732", "PRIVSESSION7733", "privmail7734@example.test"]
        for (i, address) in addresses.enumerated() {
            let body = #"""
                {"event_type":"click","page_url":"https://site.test/account?token=\#(secrets[0])&utm_source=news","referrer":"https://search.test/?q=\#(secrets[1])"}
                """#
            let answer = try await stack.http.post(
                "/api/analytics/event", body: body,
                headers: [
                    ("X-Forwarded-For", address), ("User-Agent", "PrivAgent7735/\(i) (X11; Linux x86_64)"), ("Origin", "https://site.test"),
                ])
            #expect(answer.status == 201)
        }
        // A server-side pageview whose query and referrer carry secrets too.
        let page = try await stack.http.get(
            "/demo?session=\(secrets[2])&utm_medium=mail",
            headers: [
                ("X-Forwarded-For", addresses[0]), ("Referer", "https://mail.test/?to=\(secrets[3])"),
                ("User-Agent", "PrivAgent7735/page (X11; Linux x86_64)"),
            ])
        #expect(page.status == 200)
        #expect(await eventually(timeout: .seconds(30)) { (try? stack.storedEvents()) == 4 })
        #expect(await eventually { (try? await stack.countedEvents()) == 4 })
        // What was kept of the URLs: the pages and their campaign tags.
        let urls = try stack.postgres.psql("SELECT string_agg(DISTINCT page_url, ' ') FROM analytics_events")
        #expect(urls.contains("https://site.test/account?utm_source=news"))
        #expect(urls.contains("/demo?utm_medium=mail"))
        // Every store, as bytes: Redis's dump and append-only file, PostgreSQL's files after a
        // checkpoint, the archive directory, and every process's log.
        _ = try await stack.client.send("SAVE")
        _ = try stack.postgres.psql("CHECKPOINT")
        try await Task.sleep(for: .milliseconds(500))
        var stores: [(String, [UInt8])] = []
        for directory in [stack.redis.directory.path, stack.postgres.dataDirectory, stack.archiveDirectory.path] {
            stores += Self.files(under: directory)
        }
        stores += [
            ("gateway log", Array(stack.gateway.output.utf8)), ("aggregator log", Array(stack.aggregator.output.utf8)),
            ("archiver log", Array(stack.archiver.output.utf8)),
        ]
        #expect(stores.count > 20)
        // The user agents were used for the dimensions (and the cookieless ids) only.
        let needles = addresses + ["2001:db8:77:1:0:0:0:5", "2001:db8:77:1::"] + secrets + ["PrivAgent7735"]
        for (name, bytes) in stores {
            for needle in needles where Self.contains(bytes, Array(needle.utf8)) {
                Issue.record("\(name) holds \(needle)")
            }
        }
    }

    /// Every regular file under `directory`, with its bytes.
    static func files(under directory: String) -> [(String, [UInt8])] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [(String, [UInt8])] = []
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            files.append((path, Array(data)))
        }
        return files
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
