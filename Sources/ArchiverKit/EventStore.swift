import AnalyticsCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Writes events to PostgreSQL: one transaction per batch that COPYs the batch into a staging table,
/// upserts the visitors (first/last seen) and inserts the events with `ON CONFLICT DO NOTHING`, so a
/// batch stored twice (a re-delivery after a crash) adds nothing.
public struct EventStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    let partitions: PartitionManager

    public init(client: PostgresClient, partitions: PartitionManager, logger: Logger) {
        self.client = client
        self.partitions = partitions
        self.logger = logger
    }

    static let stagingColumns = ["id", "visitor_id", "event_type", "event_data", "page_url", "referrer", "created_at"]

    /// Stores the events; returns how many were new (the others were already there).
    @discardableResult
    public func store(_ events: [AnalyticsEvent]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        try await partitions.ensure(days: Set(events.map { TimeBucket(epochMilliseconds: $0.createdAt).date }))
        let payload = Self.copyText(events)
        return try await client.withTransaction(logger: logger) { connection in
            // Session-local, emptied at each commit: created once per pooled connection.
            try await connection.query(
                """
                CREATE TEMP TABLE IF NOT EXISTS analytics_staging (
                    id uuid, visitor_id uuid, event_type varchar(50), event_data jsonb, page_url text, referrer text,
                    created_at timestamptz) ON COMMIT DELETE ROWS
                """, logger: logger)
            try await connection.copyFrom(table: "analytics_staging", columns: Self.stagingColumns, logger: logger) { writer in
                try await writer.write(payload)
            }
            // Visitors in id order: concurrent archivers then lock rows in the same order (no deadlock).
            try await connection.query(
                """
                INSERT INTO visitors (id, first_seen, last_seen)
                SELECT visitor_id, min(created_at), max(created_at) FROM analytics_staging GROUP BY visitor_id ORDER BY visitor_id
                ON CONFLICT (id) DO UPDATE
                SET first_seen = LEAST(visitors.first_seen, EXCLUDED.first_seen),
                    last_seen = GREATEST(visitors.last_seen, EXCLUDED.last_seen)
                WHERE visitors.first_seen > EXCLUDED.first_seen OR visitors.last_seen < EXCLUDED.last_seen
                """, logger: logger)
            let rows = try await connection.query(
                """
                WITH inserted AS (
                    INSERT INTO analytics_events (id, visitor_id, event_type, event_data, page_url, referrer, created_at)
                    SELECT id, visitor_id, event_type, event_data, page_url, referrer, created_at FROM analytics_staging
                    ON CONFLICT DO NOTHING
                    RETURNING 1)
                SELECT count(*) FROM inserted
                """, logger: logger)
            var inserted = 0
            for try await count in rows.decode(Int.self) { inserted = count }
            return inserted
        }
    }

    /// The events as COPY text: tab-separated, `\N` for NULL, backslash escapes.
    static func copyText(_ events: [AnalyticsEvent]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: events.count * 256)
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
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }
}

/// Timestamps as PostgreSQL reads and writes them, in UTC.
public enum Timestamp {
    /// `2026-11-27 13:46:30.123+00`
    public static func postgres(milliseconds ms: Int64) -> String {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let date = CivilDate(daysSinceEpoch: Int(days))
        let inDay = ms - days * 86_400_000
        let h = inDay / 3_600_000
        let m = inDay / 60_000 % 60
        let s = inDay / 1000 % 60
        let frac = inDay % 1000
        return "\(date.isoString) \(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(frac, 3))+00"
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
