import AnalyticsCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Timestamps as PostgreSQL reads and writes them, in UTC: the text ``EventStore`` COPYs into
/// `timestamptz` columns.
public enum Timestamp {
    /// The `timestamptz` text of a time in Unix milliseconds, e.g. `2026-11-27 13:46:30.123+00`.
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
