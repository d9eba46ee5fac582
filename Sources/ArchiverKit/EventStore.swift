import AnalyticsCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Writes events to PostgreSQL, one transaction per batch: the visitors whose row must change
/// (first/last seen, see ``VisitorCache``) are upserted, and the events are COPYed straight into
/// `analytics_events`. A batch stored twice (a re-delivery after a crash) fails that COPY on the
/// primary key; the batch then goes through a staging table and `INSERT … ON CONFLICT DO NOTHING`,
/// and adds nothing new.
///
/// Used by ``ArchivingProcessor`` for the stream and by ``Importer`` for archive files, so both
/// skip the events already stored.
public struct EventStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    let partitions: PartitionManager
    let visitors: VisitorCache

    /// - Parameters:
    ///   - client: the PostgreSQL pool; each call to ``store(_:)`` takes one connection.
    ///   - partitions: creates the partitions of the events' days before the transaction.
    ///   - visitors: what the process knows of the `visitors` table. Share the one the retention
    ///     pass is given (``ArchiverApplication/visitorCache``), which forgets rows the pass deletes.
    ///   - logger: for the queries.
    public init(client: PostgresClient, partitions: PartitionManager, visitors: VisitorCache = VisitorCache(), logger: Logger) {
        self.client = client
        self.partitions = partitions
        self.visitors = visitors
        self.logger = logger
    }

    static let columns =
        ["id", "visitor_id", "event_type", "event_data", "page_url", "referrer", "created_at"]
        + EventDimensions.Name.allCases.map(\.rawValue)

    /// Stores the events; returns how many were new (the others were already there).
    ///
    /// The common case — events never stored before — is a plain COPY into the table, as fast as
    /// `psql \copy`. A batch delivered again (after a crash) makes that COPY fail on the primary
    /// key; the transaction then rolls back to a savepoint and takes the slower path: COPY into a
    /// staging table and `INSERT … ON CONFLICT DO NOTHING`.
    ///
    /// The partitions of the events' days are created first, outside the transaction.
    /// - Returns: the number of events PostgreSQL did not hold yet.
    /// - Throws: PostgreSQL's error; nothing of the batch is stored then. A data error (SQLSTATE class
    ///   22 or 23) means some event of the batch can never be stored, and retrying the same batch
    ///   cannot help.
    @discardableResult
    public func store(_ events: [AnalyticsEvent]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        try await partitions.ensure(days: Set(events.map { TimeBucket(epochMilliseconds: $0.createdAt).date }))
        let payload = Self.copyText(events)
        let changed = visitors.needingWrite(VisitorCache.visitors(of: events.lazy.map { ($0.visitorID, $0.createdAt) }))
        let (stored, rows) = try await client.withTransaction(logger: logger) { connection in
            let rows = changed.isEmpty ? [] : try await upsertVisitors(changed, connection: connection)
            let inserted = try await insertEvents(events, payload, connection: connection)
            try await addToRollups(inserted, connection: connection)
            return (inserted.count, rows)
        }
        visitors.record(rows)
        return stored
    }

    /// Writes the visitors whose row must change (see `VisitorCache`) and returns the rows of all of
    /// them as PostgreSQL now holds them.
    private func upsertVisitors(_ changed: [UUID: VisitorCache.Seen], connection: PostgresConnection) async throws -> [(
        UUID, VisitorCache.Seen
    )] {
        // Session-local, emptied at each commit: created once per pooled connection.
        try await connection.query(
            """
            CREATE TEMP TABLE IF NOT EXISTS analytics_visitor_staging (id uuid, first_seen timestamptz, last_seen timestamptz)
            ON COMMIT DELETE ROWS
            """, logger: logger)
        let text = Self.visitorsCopyText(changed)
        try await connection.copyFrom(table: "analytics_visitor_staging", columns: ["id", "first_seen", "last_seen"], logger: logger) {
            try await $0.write(text)
        }
        // Another archiver (or this one before a restart) may have written them already: only rows
        // that are new, seen earlier than known, or seen more than an hour after their recorded last
        // visit (`VisitorCache.rewriteAfterMilliseconds`) are written. Each is looked up by its key
        // (the LIMIT keeps the planner from hashing the whole visitors table, which grows with the
        // site's history, on every batch).
        // Rows in id order: concurrent archivers lock them in the same order.
        let result = try await connection.query(
            """
            WITH staged AS (
                SELECT s.id, s.first_seen, s.last_seen, v.first_seen AS known_first, v.last_seen AS known_last
                FROM analytics_visitor_staging s
                LEFT JOIN LATERAL (SELECT first_seen, last_seen FROM visitors WHERE visitors.id = s.id LIMIT 1) v ON true
            ), written AS (
                INSERT INTO visitors (id, first_seen, last_seen)
                SELECT id, first_seen, last_seen FROM staged
                WHERE known_first IS NULL OR first_seen < known_first OR last_seen > known_last + interval '1 hour'
                ORDER BY id
                ON CONFLICT (id) DO UPDATE
                SET first_seen = LEAST(visitors.first_seen, EXCLUDED.first_seen),
                    last_seen = GREATEST(visitors.last_seen, EXCLUDED.last_seen)
                RETURNING id, first_seen, last_seen
            )
            SELECT id, first_seen, last_seen FROM written
            UNION ALL
            SELECT id, known_first, known_last FROM staged
            WHERE NOT (known_first IS NULL OR first_seen < known_first OR last_seen > known_last + interval '1 hour')
            """, logger: logger)
        var rows: [(UUID, VisitorCache.Seen)] = []
        rows.reserveCapacity(changed.count)
        for try await (id, first, last) in result.decode((UUID, Date, Date).self) {
            rows.append((id, VisitorCache.Seen(first: Self.milliseconds(first), last: Self.milliseconds(last))))
        }
        return rows
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The events, as new ones (a COPY) or, when some are already stored, skipping those.
    /// - Returns: the events inserted, each once.
    private func insertEvents(_ events: [AnalyticsEvent], _ payload: ByteBuffer, connection: PostgresConnection) async throws
        -> [AnalyticsEvent]
    {
        try await connection.query("SAVEPOINT direct_copy", logger: logger)
        do {
            try await connection.copyFrom(table: "analytics_events", columns: Self.columns, logger: logger) { try await $0.write(payload) }
            try await connection.query("RELEASE SAVEPOINT direct_copy", logger: logger)
            return events
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            try await connection.query("ROLLBACK TO SAVEPOINT direct_copy", logger: logger)
        }
        var inserted = try await insertSkippingDuplicates(payload, connection: connection)
        // The same event twice in one batch is inserted once: count its first copy only.
        return events.filter { inserted.remove($0.id) != nil }
    }

    /// The ids of the events inserted.
    private func insertSkippingDuplicates(_ payload: ByteBuffer, connection: PostgresConnection) async throws -> Set<UUID> {
        let columns = Self.columns.joined(separator: ", ")
        let dimensionColumns = EventDimensions.Name.allCases.map { "\($0.rawValue) text" }.joined(separator: ", ")
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    CREATE TEMP TABLE IF NOT EXISTS analytics_staging (
                        id uuid, visitor_id uuid, event_type varchar(50), event_data jsonb, page_url text, referrer text,
                        created_at timestamptz, \(dimensionColumns)) ON COMMIT DELETE ROWS
                    """), logger: logger)
        try await connection.copyFrom(table: "analytics_staging", columns: Self.columns, logger: logger) { try await $0.write(payload) }
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO analytics_events (\(columns))
                    SELECT \(columns) FROM analytics_staging
                    ON CONFLICT DO NOTHING
                    RETURNING id
                    """), logger: logger)
        var inserted = Set<UUID>()
        for try await id in rows.decode(UUID.self) { inserted.insert(id) }
        return inserted
    }

    /// Visitors as COPY text, with the first and last time seen.
    static func visitorsCopyText(_ seen: [UUID: VisitorCache.Seen]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: seen.count * 96)
        for (id, times) in seen {
            buffer.writeString(id.lowercasedString)
            buffer.writeInteger(UInt8(ascii: "\t"))
            buffer.writeString(Timestamp.postgres(milliseconds: times.first))
            buffer.writeInteger(UInt8(ascii: "\t"))
            buffer.writeString(Timestamp.postgres(milliseconds: times.last))
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return buffer
    }

    /// The events as COPY text, in the order of ``columns``: tab-separated, `\N` for NULL, backslash escapes.
    static func copyText(_ events: [AnalyticsEvent]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: events.count * 320)
        for event in events {
            buffer.writeString(event.id.lowercasedString)
            buffer.writeInteger(UInt8(ascii: "\t"))
            buffer.writeString(event.visitorID.lowercasedString)
            buffer.writeInteger(UInt8(ascii: "\t"))
            appendEscaped(event.eventType, to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\t"))
            appendEscaped(event.eventData, to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\t"))
            appendOptional(event.pageURL, to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\t"))
            appendOptional(event.referrer, to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\t"))
            buffer.writeString(Timestamp.postgres(milliseconds: event.createdAt))
            for value in event.dimensions.values {
                buffer.writeInteger(UInt8(ascii: "\t"))
                appendEscaped(value, to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return buffer
    }

    private static func appendOptional(_ value: String?, to buffer: inout ByteBuffer) {
        if let value {
            appendEscaped(value, to: &buffer)
        } else {
            buffer.writeStaticString("\\N")
        }
    }

    private static func appendEscaped(_ value: String, to buffer: inout ByteBuffer) {
        // Copied run by run between the bytes to escape (most values have none): every text
        // column of every event passes here.
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for index in bytes.indices {
                let escape: StaticString
                switch bytes[index] {
                case UInt8(ascii: "\\"): escape = "\\\\"
                case UInt8(ascii: "\t"): escape = "\\t"
                case UInt8(ascii: "\n"): escape = "\\n"
                case UInt8(ascii: "\r"): escape = "\\r"
                default: continue
                }
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                buffer.writeStaticString(escape)
                runStart = index + 1
            }
            buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
    }
}
