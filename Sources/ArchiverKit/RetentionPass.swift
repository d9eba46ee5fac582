import AnalyticsCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Prometheus
import RedisClient

/// The retention and archive pass: each day of raw events older than the raw retention
/// is exported to a gzip NDJSON file (temporary name, fsync, row count checked, rename), rolled up
/// (counts per event type, page and dimension; unique visitors as HyperLogLog bytes; the history's
/// hourly combinations of dimensions, `analytics_rollup_archived_hours`), and only then
/// its partition is dropped — all while the partition is locked against writes, the rollup and the
/// drop in one transaction. Rollups and archives older than the archive retention are removed.
/// A crash at any step loses nothing: the next pass finds the partition still there and redoes it.
/// An expired file that cannot be deleted is logged, counted and reported, and tried again by the
/// next pass.
///
/// Archive files are written with ``ArchiveWriter``. Run it through ``RetentionScheduler``, which
/// makes sure a single pass runs at a time across all archivers.
public struct RetentionPass: Sendable {
    /// How long data is kept, and where archives go.
    public struct Settings: Sendable {
        /// Days of raw events kept in PostgreSQL (`ANALYTICS_RAW_RETENTION_DAYS`): older days are
        /// archived, rolled up and dropped.
        public var rawRetentionDays: Int
        /// Days of rollups and archive files kept (`ANALYTICS_ARCHIVE_RETENTION_DAYS`).
        public var archiveRetentionDays: Int
        /// Where the archive files are written (`ANALYTICS_ARCHIVE_DIR`); created when missing.
        public var archiveDirectory: URL

        /// Settings with these retentions and archive directory.
        public init(rawRetentionDays: Int, archiveRetentionDays: Int, archiveDirectory: URL) {
            self.rawRetentionDays = rawRetentionDays
            self.archiveRetentionDays = archiveRetentionDays
            self.archiveDirectory = archiveDirectory
        }
    }

    /// What a pass did.
    public struct Report: Sendable, Equatable {
        /// Days exported to an archive file, rolled up and dropped, oldest first.
        public var archivedDays: [CivilDate] = []
        /// Days dropped without an archive, being already past the archive retention.
        public var droppedWithoutArchive: [CivilDate] = []
        /// Days whose rollups and archive file were removed, past the archive retention.
        public var removedDays: [CivilDate] = []
        /// Events written to the archive files of ``archivedDays``.
        public var archivedEvents = 0
        /// Visitor rows deleted because their visitor has no event left.
        public var forgottenVisitors = 0
        /// Expired archive files that could not be deleted (still on disk), with why.
        public var undeletedFiles: [String] = []
    }

    let settings: Settings
    let client: PostgresClient
    let redis: RedisClient
    let keyspace: RedisKeyspace
    let partitions: PartitionManager
    let metrics: ArchiverMetrics?
    /// The store's knowledge of visitor rows: forgotten with the rows it describes.
    let visitors: VisitorCache?
    let logger: Logger

    /// - Parameters:
    ///   - settings: the retentions and the archive directory.
    ///   - client: the PostgreSQL pool.
    ///   - redis: builds each day's HyperLogLog in a temporary key.
    ///   - keyspace: the Redis key names (the configured prefix).
    ///   - partitions: lists the days and forgets the dropped ones.
    ///   - metrics: where days, durations and undeleted files are counted; nil for none.
    ///   - visitors: the store's ``VisitorCache``, emptied when visitor rows are deleted; nil when no
    ///     ``EventStore`` shares the process.
    ///   - logger: for each retired day and each file that could not be deleted.
    public init(
        settings: Settings, client: PostgresClient, redis: RedisClient, keyspace: RedisKeyspace, partitions: PartitionManager,
        metrics: ArchiverMetrics?, visitors: VisitorCache? = nil, logger: Logger
    ) {
        self.visitors = visitors
        self.settings = settings
        self.client = client
        self.redis = redis
        self.keyspace = keyspace
        self.partitions = partitions
        self.metrics = metrics
        self.logger = logger
    }

    /// The first day kept raw, and the first day whose rollups and archive are kept.
    /// - Returns: `raw`, before which days are retired, and `archive`, before which rollups and
    ///   archives are removed (and days retired without an archive).
    public static func cutoffs(today: CivilDate, rawRetentionDays: Int, archiveRetentionDays: Int) -> (raw: CivilDate, archive: CivilDate) {
        (
            CivilDate(daysSinceEpoch: today.daysSinceEpoch - rawRetentionDays),
            CivilDate(daysSinceEpoch: today.daysSinceEpoch - archiveRetentionDays)
        )
    }

    /// The archive file name of `day`: `analytics-events-YYYY-MM-DD.ndjson.gz`.
    public static func archiveFileName(_ day: CivilDate) -> String {
        "analytics-events-\(day.isoString).ndjson.gz"
    }

    /// Runs the pass once: retires every day older than the raw retention, one transaction each,
    /// then removes the rollups and archives past the archive retention and forgets the visitors
    /// with no event left.
    /// - Parameter nowMilliseconds: the current time, in Unix milliseconds: its UTC day is "today".
    /// - Returns: what the pass did.
    /// - Throws: the first failure (PostgreSQL, Redis, the archive directory, an incomplete export:
    ///   ``ArchiverError``). The days retired before it stay retired; the next pass does the rest.
    public func run(nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> Report {
        let today = TimeBucket(epochMilliseconds: nowMilliseconds).date
        let cutoff = Self.cutoffs(
            today: today, rawRetentionDays: settings.rawRetentionDays, archiveRetentionDays: settings.archiveRetentionDays)
        try FileManager.default.createDirectory(at: settings.archiveDirectory, withIntermediateDirectories: true)
        var report = Report()
        for day in try await partitions.existingDays() where day < cutoff.raw {
            let start = ContinuousClock.now
            // Past the archive retention an archive would be removed at once: drop without one.
            let archive = day >= cutoff.archive
            let events = try await retire(day, archive: archive)
            if archive {
                report.archivedDays.append(day)
                report.archivedEvents += events
                metrics?.daysArchived.increment()
            } else {
                report.droppedWithoutArchive.append(day)
            }
            let elapsed = ContinuousClock.now - start
            metrics?.dayDropDuration.record(elapsed)
            logger.info(
                "retired day",
                metadata: [
                    "day": "\(day.isoString)", "events": "\(events)", "archived": "\(archive)",
                    "seconds": "\(elapsed.inSeconds)",
                ])
        }
        (report.removedDays, report.undeletedFiles) = try await removeExpired(before: cutoff.archive)
        metrics?.daysRemoved.increment(by: Int64(report.removedDays.count))
        report.forgottenVisitors = try await forgetVisitors(before: cutoff.raw)
        return report
    }

    /// Archives (optionally), rolls up and drops one day; returns its number of events.
    func retire(_ day: CivilDate, archive: Bool) async throws -> Int {
        let partition = PartitionManager.name(of: day)
        let finalURL = settings.archiveDirectory.appendingPathComponent(Self.archiveFileName(day))
        let events = try await client.withTransaction(logger: logger) { connection -> Int in
            // Nothing may be written to the day while it is exported and dropped (an import could).
            try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(partition) IN EXCLUSIVE MODE"), logger: logger)
            var count = 0
            for try await n in try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(partition)"), logger: logger)
                .decode(Int.self)
            {
                count = n
            }
            // A day archived before whose raw rows came back (an import): its archive and rollups
            // already hold it whole, and are kept as they are.
            if archive && count > 0, try await !isArchived(day, connection: connection) {
                try await export(partition, count: count, to: finalURL, connection: connection)
                try await rollUpArchivedHours(partition, connection: connection)
                let hll = try await visitorsHyperLogLog(partition, connection: connection)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO analytics_daily_rollups (day, event_type, page_url, dimension, events)
                            SELECT '\(day.isoString)'::date, event_type, coalesce(page_url, ''),
                                   CASE event_type WHEN 'cv_theme_view' THEN coalesce(event_data->>'theme', '')
                                                   WHEN 'letter_generated' THEN coalesce(event_data->>'type', '')
                                                   ELSE '' END,
                                   count(*)
                            FROM \(partition) GROUP BY 2, 3, 4
                            ON CONFLICT (day, event_type, page_url, dimension) DO UPDATE SET events = EXCLUDED.events
                            """), logger: logger)
                try await connection.query(
                    """
                    INSERT INTO analytics_daily_visitors (day, unique_visitors, visitors_hll)
                    VALUES (\(day.isoString)::date, \(hll.count), \(ByteBuffer(bytes: hll.bytes)))
                    ON CONFLICT (day) DO UPDATE SET unique_visitors = EXCLUDED.unique_visitors, visitors_hll = EXCLUDED.visitors_hll
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO analytics_archive_files (day, path, events) VALUES (\(day.isoString)::date, \(finalURL.path), \(count))
                    ON CONFLICT (day) DO UPDATE SET path = EXCLUDED.path, events = EXCLUDED.events, archived_at = now()
                    """, logger: logger)
            }
            try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(partition)"), logger: logger)
            return count
        }
        partitions.forget(day)
        return events
    }

    /// A row's dimension columns as SQL giving ``EventDimensions/packed`` text (no value holds a tab).
    static let packedDimensions =
        "concat_ws(E'\\t', '\(EventDimensions.packedVersion)', " + EventDimensions.Name.allCases.map(\.rawValue).joined(separator: ", ")
        + ")"

    /// Whether the retention pass has archived the day before.
    private func isArchived(_ day: CivilDate, connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT count(*) FROM analytics_archive_files WHERE day = \(day.isoString)::date", logger: logger)
        for try await count in rows.decode(Int.self) { return count > 0 }
        return false
    }

    /// Keeps what filtered history questions need of the day once its raw events are gone: counts
    /// and visitor sketches per hour and combination of dimension values, built from the rows
    /// exactly as a query over them would count.
    private func rollUpArchivedHours(_ partition: String, connection: PostgresConnection) async throws {
        let dimensions = (["event_type"] + EventDimensions.Name.allCases.map(\.rawValue)).joined(separator: ", ")
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO analytics_rollup_archived_hours (hour, \(dimensions), events, pageviews, visitors)
                    SELECT date_trunc('hour', created_at, 'UTC'), \(dimensions), count(*),
                           count(*) FILTER (WHERE event_type = 'pageview'), hll_add_agg(analytics_visitor_hash(visitor_id))
                    FROM \(partition) GROUP BY 1, \(dimensions)
                    """), logger: logger)
    }

    /// Writes the day to its archive file: temporary name, every row counted against the
    /// partition, fsync, rename (an existing archive of the day is replaced whole).
    func export(_ partition: String, count: Int, to finalURL: URL, connection: PostgresConnection) async throws {
        let temporary = finalURL.path + ".tmp"
        let writer = try ArchiveWriter(temporaryPath: temporary)
        do {
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT id, visitor_id, event_type, event_data::text, page_url, referrer,
                               (extract(epoch FROM created_at) * 1000)::bigint, \(Self.packedDimensions)
                        FROM \(partition) ORDER BY created_at, id
                        """), logger: logger)
            for try await (id, visitor, type, data, url, referrer, ms, packed) in rows.decode(
                (UUID, UUID, String, String?, String?, String?, Int64, String).self)
            {
                try writer.append(
                    AnalyticsEvent(
                        id: id, visitorID: visitor, eventType: type, eventData: data ?? "{}", pageURL: url, referrer: referrer,
                        createdAt: ms, dimensions: EventDimensions(packed: packed) ?? EventDimensions()))
            }
            guard writer.count == count else {
                throw ArchiverError.incompleteExport(partition: partition, exported: writer.count, held: count)
            }
            try writer.commit(to: finalURL.path)
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// The day's distinct visitors as the bytes of a Redis HyperLogLog (built in a temporary key),
    /// with their exact number.
    func visitorsHyperLogLog(_ partition: String, connection: PostgresConnection) async throws -> (bytes: [UInt8], count: Int) {
        let key = "\(keyspace.prefix):tmp:retention:\(partition):\(UUID().lowercasedString)"
        var chunk: [String] = []
        func flush() async throws {
            guard !chunk.isEmpty else { return }
            try await redis.send(RedisCommand(["PFADD", key] + chunk), timeout: .seconds(10))
            chunk.removeAll(keepingCapacity: true)
        }
        do {
            try await redis.send(RedisCommand("PFADD", key), timeout: .seconds(10))
            // The day's count is exact (the rows are distinct); the HyperLogLog is kept for
            // merging days into weeks and months, where only an estimate is possible.
            var distinct = 0
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT DISTINCT visitor_id FROM \(partition)"), logger: logger)
            for try await visitor in rows.decode(UUID.self) {
                chunk.append(visitor.lowercasedString)
                distinct += 1
                if chunk.count == 1000 { try await flush() }
            }
            try await flush()
            let replies = try await redis.pipeline(
                [RedisCommand("GET", key), RedisCommand("DEL", key)], timeout: .seconds(10))
            guard case .bulk(let bytes) = replies[0] else {
                throw RedisError.unexpectedReply("HyperLogLog of \(partition)")
            }
            return (bytes, distinct)
        } catch {
            _ = try? await redis.send("DEL", key)
            throw error
        }
    }

    /// Removes rollups and archive files older than the archive retention. The row of a file that
    /// cannot be deleted stays, so the next pass tries that file again.
    /// - Returns: the days removed, and the files that could not be deleted (with why).
    func removeExpired(before cutoff: CivilDate) async throws -> (days: [CivilDate], undeletedFiles: [String]) {
        var removed = Set<CivilDate>()
        var undeleted: [String] = []
        var keptPaths: [String] = []
        let files = try await client.query(
            "SELECT day::text, path FROM analytics_archive_files WHERE day < \(cutoff.isoString)::date", logger: logger)
        for try await (day, path) in files.decode((String, String).self) {
            if let failure = deleteFile(atPath: path) {
                undeleted.append(failure)
                keptPaths.append(path)
            }
            if let d = CivilDate(iso: day) { removed.insert(d) }
        }
        // Files of the archive directory that no row names: a row removed before its file.
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: settings.archiveDirectory.path)
        } catch {
            logger.error(
                "cannot list the archive directory; expired files in it stay",
                metadata: [
                    "directory": "\(settings.archiveDirectory.path)", "error": "\(error.localizedDescription)",
                ])
            names = []
        }
        for name in names {
            guard name.hasPrefix("analytics-events-"), name.hasSuffix(".ndjson.gz"),
                let day = CivilDate(iso: name.dropFirst("analytics-events-".count).prefix(10)), day < cutoff
            else { continue }
            let path = settings.archiveDirectory.appendingPathComponent(name).path
            guard !keptPaths.contains(path) else { continue }
            if let failure = deleteFile(atPath: path) { undeleted.append(failure) }
            removed.insert(day)
        }
        let rollupDays = try await client.query(
            "SELECT DISTINCT day::text FROM analytics_daily_rollups WHERE day < \(cutoff.isoString)::date", logger: logger)
        for try await day in rollupDays.decode(String.self) {
            if let d = CivilDate(iso: day) { removed.insert(d) }
        }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM analytics_daily_rollups WHERE day < \(cutoff.isoString)::date", logger: logger)
            try await connection.query("DELETE FROM analytics_daily_visitors WHERE day < \(cutoff.isoString)::date", logger: logger)
            try await connection.query("DELETE FROM analytics_rollup_days WHERE day < \(cutoff.isoString)::date", logger: logger)
            // A week that loses a day goes whole (with its mark: its remaining days are then read
            // from their own rows), so that a week's rows always equal the union of its days'.
            try await connection.query("DELETE FROM analytics_rollup_weeks WHERE week < \(cutoff.isoString)::date", logger: logger)
            try await connection.query("DELETE FROM analytics_rollup_closed_weeks WHERE week < \(cutoff.isoString)::date", logger: logger)
            let start = "\(cutoff.isoString) 00:00:00+00"
            try await connection.query("DELETE FROM analytics_rollup_hours WHERE hour < \(start)::timestamptz", logger: logger)
            try await connection.query(
                "DELETE FROM analytics_rollup_archived_hours WHERE hour < \(start)::timestamptz", logger: logger)
            try await connection.query(
                "DELETE FROM analytics_archive_files WHERE day < \(cutoff.isoString)::date AND NOT path = ANY(\(keptPaths))", logger: logger
            )
        }
        return (removed.sorted(), undeleted)
    }

    /// Deletes an expired archive file; one already gone is not a failure. Only files inside the
    /// archive directory are deleted: a path elsewhere (a row written by hand, or tampered with) is
    /// reported and left alone. A symbolic link is removed, never what it points to.
    /// - Returns: nil when the file is gone; otherwise the path and why it is still there, which is
    ///   logged and counted.
    private func deleteFile(atPath path: String) -> String? {
        let directory = settings.archiveDirectory.standardizedFileURL.path
        let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        guard standardized.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/") else {
            logger.error(
                "an expired archive row names a file outside ANALYTICS_ARCHIVE_DIR; it is not deleted",
                metadata: ["path": "\(path)", "directory": "\(directory)"])
            metrics?.filesNotDeleted.increment()
            return "\(path): outside the archive directory \(directory), not deleted"
        }
        do {
            try FileManager.default.removeItem(atPath: path)
            return nil
        } catch {
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            logger.error(
                "cannot delete an expired archive file; the next pass tries again",
                metadata: [
                    "path": "\(path)", "error": "\(error.localizedDescription)",
                ])
            metrics?.filesNotDeleted.increment()
            return "\(path): \(error.localizedDescription)"
        }
    }

    /// Visitors last seen before the raw cutoff have no event left: forget them. (`last_seen` may
    /// lag the last event by up to an hour — see `EventStore` — hence a day of margin.)
    func forgetVisitors(before cutoff: CivilDate) async throws -> Int {
        let margin = CivilDate(daysSinceEpoch: cutoff.daysSinceEpoch - 1)
        let rows = try await client.query(
            """
            WITH gone AS (DELETE FROM visitors WHERE last_seen < \(margin.isoString + " 00:00:00+00")::timestamptz RETURNING 1)
            SELECT count(*) FROM gone
            """, logger: logger)
        var n = 0
        for try await count in rows.decode(Int.self) { n = count }
        // A cached row that no longer exists would let a late event skip writing its visitor.
        if n > 0 { visitors?.removeAll() }
        return n
    }
}
