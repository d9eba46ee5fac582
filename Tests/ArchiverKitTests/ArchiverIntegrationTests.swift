import AnalyticsCore
import ArchiverKit
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceSupport
import TestSupport
import Testing

/// The archiver's parts against real, throwaway PostgreSQL and Redis servers.
@Suite("Archiver against real PostgreSQL and Redis")
struct ArchiverIntegrationTests {
    @Test func aBatchStoredTwiceGivesOneRowEach() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let now = EpochClock.milliseconds()
        let events = h.events(500, at: now, visitors: 7) { i in
            i % 5 == 0 ? ("cv_theme_view", #"{"theme":"t\#(i % 2)","tab":"a\tb","nested":{"q":"\"x\""}}"#) : ("click", "{}")
        }
        #expect(try await h.store.store(events) == 500)
        #expect(try await h.store.store(events) == 0)
        #expect(try await h.store.store(Array(events[100..<300])) == 0)
        #expect(try h.count() == 500)
        #expect(try h.count("SELECT count(*) FROM visitors") == 7)
        // Every column arrives intact.
        let first = events[0]
        let row = try h.postgres.psql(
            "SELECT visitor_id, event_type, event_data->>'tab', event_data->'nested'->>'q', page_url, coalesce(referrer, 'NULL'), "
                + "(extract(epoch FROM created_at) * 1000)::bigint FROM analytics_events WHERE id = '\(first.id.lowercasedString)'")
        #expect(row == "\(first.visitorID.lowercasedString)|cv_theme_view|a\tb|\"x\"|https://site.test/p0|NULL|\(first.createdAt)")
        // Visitors keep their first and last time seen.
        let visitor = events[3].visitorID
        let seen = try h.postgres.psql(
            "SELECT (extract(epoch FROM first_seen) * 1000)::bigint, (extract(epoch FROM last_seen) * 1000)::bigint FROM visitors WHERE id = '\(visitor.lowercasedString)'"
        )
        let theirs = events.filter { $0.visitorID == visitor }.map(\.createdAt)
        #expect(seen == "\(theirs.min()!)|\(theirs.max()!)")
    }

    @Test func everySessionStartsWithItsTimeoutsAndWithoutJIT() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        var settings: [String] = []
        let rows = try await h.client.query(
            """
            SELECT current_setting('statement_timeout') || ' ' || current_setting('lock_timeout') || ' '
                   || current_setting('idle_in_transaction_session_timeout') || ' ' || current_setting('jit')
            """, logger: h.logger)
        for try await setting in rows.decode(String.self) { settings.append(setting) }
        #expect(settings == ["5min 30s 1min off"])
    }

    @Test func migrationsGoDownAndUpAgainAndRaceSafely() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let migrator = try h.migrator
        #expect(try await migrator.appliedVersions() == [1, 2, 3, 4, 5, 6])
        #expect(try await migrator.migrateDown(to: 0) == [6, 5, 4, 3, 2, 1])
        #expect(try h.postgres.psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'analytics%' OR tablename = 'visitors'") == "0")
        // Two archivers starting at once: each migration is applied once, and neither fails.
        async let a = migrator.migrateUp()
        async let b = migrator.migrateUp()
        let (first, second) = try await (a, b)
        #expect((first + second).sorted() == [1, 2, 3, 4, 5, 6])
        #expect(try h.count("SELECT count(*) FROM schema_migrations") == 6)
        #expect(try await h.store.store(h.events(3)) == 3)
    }

    @Test func visitorRowsFollowTheirVisitsThroughTheCache() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let now = EpochClock.milliseconds()
        let hour: Int64 = 3_600_000
        let first = h.events(10, at: now, visitors: 2)
        let visitor = first[0].visitorID
        func row() throws -> String {
            try h.postgres.psql(
                "SELECT (extract(epoch FROM first_seen) * 1000)::bigint, (extract(epoch FROM last_seen) * 1000)::bigint FROM visitors WHERE id = '\(visitor.lowercasedString)'"
            )
        }
        func event(at ms: Int64) -> AnalyticsEvent {
            let e = h.events(1, at: ms, visitors: 1)[0]
            return AnalyticsEvent(
                id: e.id, visitorID: visitor, eventType: e.eventType, eventData: e.eventData, pageURL: e.pageURL, referrer: e.referrer,
                createdAt: ms)
        }
        try await h.store.store(first)
        let last = first.filter { $0.visitorID == visitor }.map(\.createdAt).max()!
        #expect(try row() == "\(now)|\(last)")
        // Within the hour: the row is not rewritten. Later: it is. Earlier (imported history): too.
        try await h.store.store([event(at: last + hour / 2)])
        #expect(try row() == "\(now)|\(last)")
        try await h.store.store([event(at: last + 2 * hour)])
        #expect(try row() == "\(now)|\(last + 2 * hour)")
        try await h.store.store([event(at: now - 24 * hour)])
        #expect(try row() == "\(now - 24 * hour)|\(last + 2 * hour)")
        // A store with a cold cache (another process) learns the rows without rewriting them.
        let otherStore = h.freshStore()
        try await otherStore.store([event(at: last + 2 * hour + 60_000)])
        #expect(try row() == "\(now - 24 * hour)|\(last + 2 * hour)")
        #expect(try h.count("SELECT count(*) FROM visitors") == 2)
    }

    @Test func partitionsExistAheadAndOnDemand() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        try await h.partitions.createAhead(days: 7)
        let today = TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date
        let days = try await h.partitions.existingDays()
        #expect(days.contains(today))
        #expect(days.contains(CivilDate(daysSinceEpoch: today.daysSinceEpoch + 7)))
        // An event of a day long gone (history) gets its partition on demand.
        let old = ArchiverHarness.daysAgo(400)
        #expect(try await h.store.store(h.events(5, at: old)) == 5)
        #expect(try await h.partitions.existingDays().contains(TimeBucket(epochMilliseconds: old).date))
        let partition = try h.postgres.psql(
            "SELECT tableoid::regclass FROM analytics_events WHERE created_at < now() - interval '300 days' LIMIT 1")
        #expect(partition == PartitionManager.name(of: TimeBucket(epochMilliseconds: old).date))
    }

    @Test func undecodableAndRefusedEntriesAreDeadLetteredNotBlocking() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let good = h.events(20)
        try await h.publish(Array(good[..<10]))
        try await h.redis.send("XADD", h.keyspace.stream, "*", "garbage", "yes")
        // Decodable, but PostgreSQL refuses its event_data (not JSON): only PostgreSQL can tell.
        var poison = h.events(1)[0]
        poison.eventData = "{not json"
        try await h.publish([poison])
        try await h.publish(Array(good[10...]))
        let consumer = h.consumer()
        let run = Task { try await consumer.run() }
        defer { run.cancel() }
        #expect(await eventually(timeout: .seconds(60)) { (try? h.count()) == 20 })
        // The batches are in flight together: the rows of a later one may be committed before an
        // earlier one's refused entry is put aside.
        func deadLetters() async throws -> [RedisStreamEntry] {
            try RedisStreamEntry.list(from: try await h.redis.send("XRANGE", h.keyspace.deadLetters, "-", "+"))
        }
        #expect(await eventually { (try? await deadLetters())?.count == 2 })
        let dead = try await deadLetters()
        #expect(dead.count == 2)
        let reasons = dead.compactMap { $0.fields?.first { $0.0 == "reason" }?.1 }
        #expect(reasons.contains { $0.hasPrefix("undecodable") })
        #expect(reasons.contains { $0.hasPrefix("refused by PostgreSQL") })
        #expect(await eventually { (try? await h.redis.send("XPENDING", h.keyspace.stream, "archiver").array?.first?.int) == 0 })
    }

    @Test func theStreamIsTrimmedOnlyBelowWhatEveryGroupAcknowledged() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        try await h.publish(h.events(3000))
        let trimmer = StreamTrimmer(redis: h.redis, keyspace: h.keyspace)
        try await h.redis.send("XGROUP", "CREATE", h.keyspace.stream, "aggregator", "0")
        try await h.redis.send("XREADGROUP", "GROUP", "aggregator", "a", "COUNT", "3000", "STREAMS", h.keyspace.stream, ">")
        // The archiver group does not exist yet: it will start from the beginning, so nothing goes.
        #expect(try await trimmer.trim() == 0)
        try await h.redis.send("XGROUP", "CREATE", h.keyspace.stream, "archiver", "0")
        let all = try RedisStreamEntry.list(from: try await h.redis.send("XRANGE", h.keyspace.stream, "-", "+")).map(\.id)
        // The aggregator acknowledged everything; the archiver read 2,000 and acknowledged 1,500.
        try await h.redis.send(RedisCommand(["XACK", h.keyspace.stream, "aggregator"] + all))
        try await h.redis.send("XREADGROUP", "GROUP", "archiver", "b", "COUNT", "2000", "STREAMS", h.keyspace.stream, ">")
        try await h.redis.send(RedisCommand(["XACK", h.keyspace.stream, "archiver"] + Array(all[..<1500])))
        let floor = try #require(try await trimmer.safeMinimumID())
        #expect(floor.description == all[1500])
        let removed = try await trimmer.trim()
        #expect(removed > 0 && removed <= 1500)
        let left = try RedisStreamEntry.list(from: try await h.redis.send("XRANGE", h.keyspace.stream, "-", "+")).map(\.id)
        #expect(left.contains(all[1500]))
        #expect(left.last == all.last)
        #expect(left.count == 3000 - removed)
        // Everything acknowledged by both: the stream can go (approximately: whole nodes only).
        try await h.redis.send(RedisCommand(["XACK", h.keyspace.stream, "archiver"] + Array(all[1500...])))
        #expect(
            try await h.redis.send("XREADGROUP", "GROUP", "archiver", "b", "COUNT", "2000", "STREAMS", h.keyspace.stream, ">").isNull
                == false)
        try await h.redis.send(RedisCommand(["XACK", h.keyspace.stream, "archiver"] + Array(all[2000...])))
        try await trimmer.trim()
        #expect(try await h.redis.send("XLEN", h.keyspace.stream).int ?? 3000 < 200)
    }

    @Test func retentionOnHistory10And100And400DaysOld() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let ages = [10, 100, 400]
        for age in ages {
            #expect(
                try await h.store.store(
                    h.events(300, at: ArchiverHarness.daysAgo(age), visitors: 40) { i in
                        i % 10 == 0
                            ? ("letter_generated", #"{"type":"motivation"}"#)
                            : i % 3 == 0 ? ("cv_theme_view", #"{"theme":"data"}"#) : ("pageview", "{}")
                    }) == 300)
        }
        let pass = h.retentionPass()
        let report = try await pass.run()
        let day = { (age: Int) in TimeBucket(epochMilliseconds: ArchiverHarness.daysAgo(age)).date }
        #expect(report.archivedDays == [day(100)])
        #expect(report.droppedWithoutArchive == [day(400)])
        #expect(report.archivedEvents == 300)
        // 10 days: still raw. 100 days: archived, rolled up, dropped. 400 days: gone entirely.
        let partitions = try await h.partitions.existingDays()
        #expect(partitions.contains(day(10)))
        #expect(!partitions.contains(day(100)))
        #expect(!partitions.contains(day(400)))
        #expect(try h.count() == 300)
        let file = h.archiveDirectory.url.appendingPathComponent(RetentionPass.archiveFileName(day(100)))
        #expect(FileManager.default.fileExists(atPath: file.path))
        #expect(!FileManager.default.fileExists(atPath: file.path + ".tmp"))
        let reader = try ArchiveReader(path: file.path)
        var lines = 0
        while try reader.next() != nil { lines += 1 }
        #expect(lines == 300)
        #expect(try h.count("SELECT sum(events) FROM analytics_daily_rollups WHERE day = '\(day(100).isoString)'") == 300)
        #expect(
            try h.count(
                "SELECT sum(events) FROM analytics_daily_rollups WHERE day = '\(day(100).isoString)' AND event_type = 'letter_generated' AND dimension = 'motivation'"
            ) == 30)
        #expect(try h.count("SELECT unique_visitors FROM analytics_daily_visitors WHERE day = '\(day(100).isoString)'") == 40)
        #expect(try h.count("SELECT events FROM analytics_archive_files WHERE day = '\(day(100).isoString)'") == 300)
        #expect(try h.count("SELECT count(*) FROM analytics_daily_rollups WHERE day = '\(day(400).isoString)'") == 0)
        // The visitors of dropped days only are forgotten.
        #expect(try h.count("SELECT count(*) FROM visitors") == 40)
        // A second pass has nothing to do.
        let again = try await pass.run()
        #expect(again.archivedDays.isEmpty && again.droppedWithoutArchive.isEmpty)
        // Once the archive retention passes, the rollups and the file go too.
        let later = try await h.retentionPass(rawDays: 90, archiveDays: 50).run()
        #expect(later.removedDays == [day(100)])
        #expect(!FileManager.default.fileExists(atPath: file.path))
        #expect(try h.count("SELECT count(*) FROM analytics_daily_rollups") == 0)
        #expect(try h.count("SELECT count(*) FROM analytics_archive_files") == 0)
    }

    @Test func aFailedPassLosesNothingAndTheNextOneFinishes() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        #expect(try await h.store.store(h.events(200, at: ArchiverHarness.daysAgo(120))) == 200)
        // The archive directory cannot be written: the export fails before anything is dropped.
        let blocked = h.archiveDirectory.url.appendingPathComponent("blocked")
        try Data().write(to: blocked)
        let broken = RetentionPass(
            settings: .init(rawRetentionDays: 90, archiveRetentionDays: 365, archiveDirectory: blocked.appendingPathComponent("sub")),
            client: h.client, redis: h.redis, keyspace: h.keyspace, partitions: h.partitions, metrics: nil, logger: h.logger)
        await #expect(throws: (any Error).self) { try await broken.run() }
        #expect(try h.count() == 200)
        #expect(try h.count("SELECT count(*) FROM analytics_daily_rollups") == 0)
        // Redis down during the pass (unique visitors need it): nothing is dropped either.
        await h.redisServer.stop()
        await #expect(throws: (any Error).self) { try await h.retentionPass().run() }
        #expect(try h.count() == 200)
        try await h.redisServer.start()
        _ = await eventually { (try? await h.redis.send("PING")) != nil }
        let report = try await h.retentionPass().run()
        #expect(report.archivedEvents == 200)
        #expect(try h.count() == 0)
    }

    @Test func anExpiredFileThatCannotBeDeletedIsLoggedCountedAndReported() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        // An expired archive whose row names a file outside the archive directory (never deleted,
        // whatever it is), and one that is already gone: only the first is a failure.
        let old = TimeBucket(epochMilliseconds: ArchiverHarness.daysAgo(400)).date
        let older = CivilDate(daysSinceEpoch: old.daysSinceEpoch - 1)
        _ = try h.postgres.psql(
            """
            INSERT INTO analytics_archive_files (day, path, events) VALUES
              ('\(old.isoString)', '/proc/version', 10), ('\(older.isoString)', '\(h.archiveDirectory.path)/gone.ndjson.gz', 5)
            """)
        let registry = MetricsRegistry(namespace: "maicivy")
        let pass = RetentionPass(
            settings: .init(rawRetentionDays: 90, archiveRetentionDays: 365, archiveDirectory: h.archiveDirectory.url),
            client: h.client, redis: h.redis, keyspace: h.keyspace, partitions: h.partitions, metrics: ArchiverMetrics(registry: registry),
            logger: h.logger)
        let report = try await pass.run()
        #expect(report.removedDays == [older, old])
        #expect(report.undeletedFiles.count == 1)
        #expect(report.undeletedFiles.first?.hasPrefix("/proc/version: outside the archive directory") == true)
        let metrics = String(decoding: registry.exposition(), as: UTF8.self)
        #expect(metrics.contains("analytics_retention_file_deletion_failures_total 1"))
        // Its row stays, so that the next pass tries the file again; the other one is forgotten.
        #expect(try h.postgres.psql("SELECT path FROM analytics_archive_files") == "/proc/version")
        let again = try await pass.run()
        #expect(again.undeletedFiles.count == 1)
        #expect(String(decoding: registry.exposition(), as: UTF8.self).contains("analytics_retention_file_deletion_failures_total 2"))
    }

    @Test func retentionDeletesNothingOutsideTheArchiveDirectoryNorThroughALink() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let outside = TemporaryDirectory("outside")
        let victim = outside.path + "/precious.ndjson.gz"
        let linked = outside.path + "/linked.ndjson.gz"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        try Data("keep me too".utf8).write(to: URL(fileURLWithPath: linked))
        try FileManager.default.createDirectory(at: h.archiveDirectory.url, withIntermediateDirectories: true)
        let old = TimeBucket(epochMilliseconds: ArchiverHarness.daysAgo(400)).date
        let older = CivilDate(daysSinceEpoch: old.daysSinceEpoch - 1)
        // A row that climbs out of the directory, and an expired file that is a link to one outside.
        let link = h.archiveDirectory.path + "/analytics-events-\(older.isoString).ndjson.gz"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: linked)
        _ = try h.postgres.psql(
            """
            INSERT INTO analytics_archive_files (day, path, events) VALUES
              ('\(old.isoString)', '\(h.archiveDirectory.path)/../\(URL(fileURLWithPath: outside.path).lastPathComponent)/precious.ndjson.gz', 10),
              ('\(older.isoString)', '\(link)', 5)
            """)
        let report = try await h.retentionPass().run()
        #expect(report.undeletedFiles.count == 1)
        #expect(report.undeletedFiles.first?.contains("outside the archive directory") == true)
        #expect(FileManager.default.fileExists(atPath: victim))
        // The link went; what it pointed to stayed.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil)
        #expect(FileManager.default.fileExists(atPath: linked))
    }

    @Test func anArchiveImportedBackRestoresExactly() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let old = ArchiverHarness.daysAgo(100, hour: 23)
        let events = h.events(1000, at: old, visitors: 30) { i in
            i % 4 == 0 ? ("cv_theme_view", #"{"theme":"é \"q\" \\ t","n":[1,2,{"x":null}]}"#) : ("click", #"{"b":\#(i)}"#)
        }
        #expect(try await h.store.store(events) == 1000)
        let snapshot =
            "SELECT md5(string_agg(id::text || visitor_id::text || event_type || coalesce(event_data::text, '') || coalesce(page_url, '~') || coalesce(referrer, '~') || created_at::text, ',' ORDER BY id)) FROM analytics_events"
        let before = try h.postgres.psql(snapshot)
        _ = try await h.retentionPass().run()
        #expect(try h.count() == 0)
        let file = h.archiveDirectory.url.appendingPathComponent(
            RetentionPass.archiveFileName(TimeBucket(epochMilliseconds: old).date))
        let importer = Importer(store: h.store, logger: h.logger, batchSize: 300, progress: nil)
        let report = try await importer.importFile(file.path)
        #expect(report == Importer.FileReport(events: 1000, inserted: 1000, refusedLines: 0))
        #expect(try h.postgres.psql(snapshot) == before)
        // Importing it again adds nothing.
        #expect(try await importer.importFile(file.path).inserted == 0)
        #expect(try h.count() == 1000)
    }

    @Test func importSkipsBadLinesAndCountsThem() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let path = h.archiveDirectory.url.appendingPathComponent("history.ndjson").path
        let good = h.events(3, at: ArchiverHarness.daysAgo(5))
        var text = good.map { String(decoding: ArchiveLine.encode($0), as: UTF8.self) }.joined(separator: "\n")
        text += "\n{\"id\": \"nope\"}\n\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let report = try await Importer(store: h.store, logger: h.logger, progress: nil).importFile(path)
        #expect(report.events == 3)
        #expect(report.inserted == 3)
        #expect(report.refusedLines == 1)
    }

    @Test func aTruncatedArchiveStopsTheImportAfterStoringItsCompleteLines() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let full = h.archiveDirectory.url.appendingPathComponent("full.ndjson.gz").path
        let writer = try ArchiveWriter(temporaryPath: full + ".tmp")
        for event in h.events(20_000, at: ArchiverHarness.daysAgo(5)) { try writer.append(event) }
        try writer.commit(to: full)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: full))
        let cut = h.archiveDirectory.url.appendingPathComponent("cut.ndjson.gz")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let importing = Task { try await Importer(store: h.store, logger: h.logger, batchSize: 1000, progress: nil).importFile(cut.path) }
        // The damaged file is an error (not a refused line to skip forever).
        let outcome = await withTaskGroup(of: Result<Importer.FileReport, any Error>?.self) { group in
            group.addTask { await importing.result }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        let result = try #require(outcome, "the import of a truncated file did not end")
        #expect(throws: ArchiveFileError.self) { try result.get() }
        // Every complete line before the damage is stored.
        let stored = try h.count()
        #expect(stored > 1000 && stored < 20_000, "\(stored) stored")
    }

    @Test func theDailyPassRunsOnceAcrossArchivers() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        #expect(try await h.store.store(h.events(50, at: ArchiverHarness.daysAgo(95))) == 50)
        let a = RetentionScheduler(pass: h.retentionPass(), client: h.client, metrics: h.metrics, logger: h.logger)
        let b = RetentionScheduler(pass: h.retentionPass(), client: h.client, metrics: h.metrics, logger: h.logger)
        // 03:00 UTC today: past the 02:00 of the daily pass whenever the test runs.
        let now = ArchiverHarness.daysAgo(0, hour: 3)
        a.runIfDue(nowMilliseconds: now)
        b.runIfDue(nowMilliseconds: now)
        #expect(await eventually { (try? h.count("SELECT count(*) FROM analytics_retention_runs WHERE finished_at IS NOT NULL")) == 1 })
        await a.cancel()
        await b.cancel()
        #expect(try h.count("SELECT count(*) FROM analytics_retention_runs") == 1)
        #expect(try h.count("SELECT count(*) FROM analytics_archive_files") == 1)
    }

    @Test func rebuildCountsArchivedDaysThroughTheirRollups() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let archivedAt = ArchiverHarness.daysAgo(100)
        let rawAt = ArchiverHarness.daysAgo(3)
        let kinds = { (i: Int) -> (String, String) in
            i % 4 == 0
                ? ("letter_generated", #"{"type":"anti_motivation"}"#)
                : i % 4 == 1 ? ("cv_theme_view", #"{"theme":"ops"}"#) : ("click", "{}")
        }
        let archived = h.events(200, at: archivedAt, visitors: 30, type: kinds)
        let raw = h.events(80, at: rawAt, visitors: 12, type: kinds)
        #expect(try await h.store.store(archived) == 200)
        #expect(try await h.store.store(raw) == 80)
        _ = try await h.retentionPass().run()
        #expect(try h.count() == 80)
        let report = try await Rebuilder(client: h.client, redis: h.redis, keyspace: h.keyspace, partitions: h.partitions, logger: h.logger)
            .run(since: nil)
        #expect(report.events == 280)
        let old = TimeBucket(epochMilliseconds: archivedAt)
        let recent = TimeBucket(epochMilliseconds: rawAt)
        let k = h.keyspace
        func get(_ key: String) async throws -> Int { try await h.redis.send("GET", key).int ?? -1 }
        func pfcount(_ key: String) async throws -> Int { try await h.redis.send("PFCOUNT", key).int ?? -1 }
        // A HyperLogLog of the same visitors built directly: its count is what the rebuilt one must
        // show (two of 30 random ids can share a register, so the estimate is not always 30).
        func reference(_ events: [AnalyticsEvent]) async throws -> Int {
            let key = "\(k.prefix):test:reference"
            try await h.redis.send(RedisCommand(["DEL", key]))
            try await h.redis.send(RedisCommand(["PFADD", key] + events.map(\.visitorID.lowercasedString)))
            return try await pfcount(key)
        }
        let archivedVisitors = try await reference(archived)
        let rawVisitors = try await reference(raw)
        #expect(abs(archivedVisitors - 30) <= 1 && abs(rawVisitors - 12) <= 1)
        // The archived day's own keys are past their 90 days; its week and month are rebuilt from the rollup.
        #expect(try await h.redis.send("EXISTS", k.totalEvents(.day, old.dayName)).int == 0)
        #expect(try await get(k.totalEvents(.month, old.monthName)) == 200)
        #expect(try await get(k.lettersGenerated(.week, old.weekName)) == 50)
        #expect(try await pfcount(k.uniqueVisitors(.month, old.monthName)) == archivedVisitors)
        #expect(try await get(k.totalEvents(.day, recent.dayName)) == 80)
        #expect(try await get(k.lettersGenerated(.day, recent.dayName)) == 20)
        #expect(try await pfcount(k.uniqueVisitors(.day, recent.dayName)) == rawVisitors)
        #expect(try await h.redis.send("ZSCORE", k.topThemes, "ops").int == 70)
        // --since leaves older days alone.
        try await h.redis.send("FLUSHDB")
        _ = try await Rebuilder(client: h.client, redis: h.redis, keyspace: h.keyspace, partitions: h.partitions, logger: h.logger)
            .run(since: recent.date)
        #expect(try await h.redis.send("EXISTS", k.totalEvents(.month, old.monthName)).int == 0)
        #expect(try await get(k.totalEvents(.day, recent.dayName)) == 80)
    }
}
