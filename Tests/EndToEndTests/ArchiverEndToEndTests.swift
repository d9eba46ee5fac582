import AnalyticsCore
import ArchiverKit
import Foundation
import RedisClient
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The archiver with the rest of the pipeline, as real processes, under crashes and outages.
@Suite("Archiver end to end")
struct ArchiverEndToEndTests {
    @Test func killingTheArchiverRepeatedlyUnderLoadStoresEveryEventOnce() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let tally = try await stack.underLoad(concurrency: 8) {
            try await stack.crashRepeatedly(stack.archiver, times: 5, every: .milliseconds(800))
        }
        let expected = tally.accepted
        #expect(expected > 500)
        #expect(tally.other == 0)
        let stored = await eventually(timeout: .seconds(60)) { (try? stack.storedEvents()) == expected }
        #expect(stored, "PostgreSQL holds \((try? stack.storedEvents()) ?? -1) events, \(expected) were accepted")
        #expect(try stack.postgres.psql("SELECT count(DISTINCT id) FROM analytics_events") == String(expected))
        #expect(await eventually { (try? await stack.countedEvents()) == expected })
    }

    @Test func postgresDownFor15SecondsUnderLoadLosesNothing() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let tally = try await stack.underLoad(concurrency: 4) {
            try await Task.sleep(for: .milliseconds(500))
            let archiverPID = stack.archiver.process?.pid
            await stack.postgres.stop()
            try await Task.sleep(for: .seconds(15))
            // The archiver waited instead of dying, holding what it could not store.
            #expect(stack.archiver.process?.isRunning == true)
            #expect(stack.archiver.process?.pid == archiverPID)
            let pendingDuringOutage = try await stack.client.send("XPENDING", stack.keyspace.stream, "archiver").array?.first?.int ?? 0
            let lagDuringOutage = (try await stack.archiverAdmin.get("/metrics")).body
            #expect(pendingDuringOutage > 0 || lagDuringOutage.contains("analytics_archiver_postgres_up 0"))
            try await stack.postgres.start()
            try await Task.sleep(for: .seconds(1))
        }
        let expected = tally.accepted
        // Nothing was refused while PostgreSQL was down.
        #expect(tally.other == 0)
        let stored = await eventually(timeout: .seconds(60)) { (try? stack.storedEvents()) == expected }
        #expect(stored, "PostgreSQL holds \((try? stack.storedEvents()) ?? -1) events, \(expected) were accepted")
        #expect(await eventually { (try? await stack.countedEvents()) == expected })
    }

    @Test func rebuildReproducesTheCountersAfterFlushdb() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let expected = try await stack.underLoad(concurrency: 4) { try await Task.sleep(for: .seconds(2)) }.accepted
        #expect(await eventually(timeout: .seconds(30)) { (try? stack.storedEvents()) == expected })
        #expect(await eventually { (try? await stack.countedEvents()) == expected })
        let before = try await snapshot(stack)
        #expect(before["themes"] != nil && before.count > 5)

        await stack.aggregator.stop()
        await stack.archiver.stop()
        try await stack.client.send("FLUSHDB")
        #expect(try await snapshot(stack).isEmpty)
        let rebuild = try await stack.archiverCommand(["rebuild"])
        #expect(rebuild.status == 0, "\(rebuild.output)")
        let after = try await snapshot(stack)
        #expect(after == before)
        // The rebuilt keys expire like the aggregator's.
        let day = TimeBucket(epochMilliseconds: EpochClock.milliseconds())
        let ttl = try #require(try await stack.client.send("TTL", stack.keyspace.totalEvents(.day, day.dayName)).int)
        #expect(ttl > 89 * 86_400 && ttl <= 91 * 86_400)
    }

    /// Every period counter, HyperLogLog estimate and the top themes.
    func snapshot(_ stack: ServiceStack) async throws -> [String: String] {
        var values: [String: String] = [:]
        let prefix = stack.keyspace.prefix
        for key in try await stack.client.send("KEYS", "\(prefix):stats:*").array?.compactMap(\.string) ?? [] {
            values[key] = try await stack.client.send("GET", key).string
        }
        for key in try await stack.client.send("KEYS", "\(prefix):visitors:unique:*").array?.compactMap(\.string) ?? [] {
            values[key] = String(try await stack.client.send("PFCOUNT", key).int ?? -1)
        }
        let themes = try await stack.client.send("ZRANGE", stack.keyspace.topThemes, "0", "-1", "WITHSCORES")
        if let list = themes.array, !list.isEmpty {
            values["themes"] = list.compactMap(\.string).joined(separator: ",")
        }
        return values
    }

    @Test func theCommandsMigrateImportAndRetention() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let migrate = try await stack.archiverCommand(["migrate"])
        #expect(migrate.status == 0)
        #expect(migrate.output.contains("up to date"))
        // History from another tool, 100 and 10 days old.
        let ids = UUIDv7Generator()
        var lines: [String] = []
        for (age, count) in [(100, 40), (10, 25)] {
            let day = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date.daysSinceEpoch - age
            for i in 0..<count {
                let ms = Int64(day) * 86_400_000 + Int64(i) * 1000
                let event = AnalyticsEvent(
                    id: ids.next(nowMilliseconds: ms), visitorID: UUID(), eventType: "pageview", eventData: #"{"path":"/old"}"#,
                    pageURL: "/old", createdAt: ms)
                lines.append(String(decoding: ArchiveLine.encode(event), as: UTF8.self))
            }
        }
        let file = stack.archiveDirectory.url.appendingPathComponent("history.ndjson")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let importing = try await stack.archiverCommand(["import", file.path])
        #expect(importing.status == 0, "\(importing.output)")
        #expect(importing.output.contains("65 events, 65 new"))
        let again = try await stack.archiverCommand(["import", file.path])
        #expect(again.output.contains("65 events, 0 new, 65 already present"))
        let retention = try await stack.archiverCommand(["retention"])
        #expect(retention.status == 0, "\(retention.output)")
        #expect(retention.output.contains("archived 1 days (40 events)"))
        #expect(try stack.postgres.psql("SELECT count(*) FROM analytics_events WHERE page_url = '/old'") == "25")
        let bad = try await stack.archiverCommand(["frobnicate"])
        #expect(bad.status == 64)
        let badSince = try await stack.archiverCommand(["rebuild", "--since", "yesterday"])
        #expect(badSince.status == 64)
        #expect(badSince.output.contains("YYYY-MM-DD"))
        // --help explains the commands and the configuration, even with a bad configuration value.
        let help = try await stack.archiverCommand(["--help", "--http-port", "99999"])
        #expect(help.status == 0)
        for text in ["migrate", "retention", "import", "rebuild", "ANALYTICS_DATABASE_URL", "--database-url"] {
            #expect(help.output.contains(text), "\(text) in \(help.output)")
        }
        let migrateHelp = try await stack.archiverCommand(["migrate", "--help"])
        #expect(migrateHelp.status == 0)
        #expect(migrateHelp.output.contains("down"))
        // The configuration is checked before any command runs.
        let badConfiguration = try await stack.archiverCommand(["migrate", "--database-url", "mysql://db"])
        #expect(badConfiguration.status == 78)
        #expect(badConfiguration.output.contains("ANALYTICS_DATABASE_URL"))
    }
}
