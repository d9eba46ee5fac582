/// How long the period aggregates in Redis live: day keys 90 days, week and month keys 365 days,
/// counted from the end of their period so that a late replay never makes a key immortal.
///
/// The aggregator and `analytics-archiver rebuild` both set these expiries with `EXPIREAT`. They are
/// fixed, unlike the PostgreSQL retention, which is configured.
public enum AggregateRetention {
    /// How long the keys of `period` outlive the end of their period, in seconds.
    public static func seconds(for period: Period) -> Int64 {
        switch period {
        case .day: 90 * 86_400
        case .week, .month: 365 * 86_400
        }
    }

    /// Unix time (seconds) at which the keys of `bucket`'s `period` expire, for `EXPIREAT`.
    /// - Parameters:
    ///   - bucket: the bucket of the event being counted.
    ///   - period: which of the bucket's periods the key counts.
    public static func expiry(of bucket: TimeBucket, _ period: Period) -> Int64 {
        bucket.end(of: period) + seconds(for: period)
    }
}
