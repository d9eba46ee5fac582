

/// How long period aggregates live: day keys 90 days, week and month keys 365 days,
/// counted from the end of their period so that a late replay never makes a key immortal.
public enum AggregateRetention {
    public static func seconds(for period: Period) -> Int64 {
        switch period {
        case .day: 90 * 86_400
        case .week, .month: 365 * 86_400
        }
    }

    /// Unix time (seconds) at which the keys of `bucket`'s `period` expire.
    public static func expiry(of bucket: TimeBucket, _ period: Period) -> Int64 {
        bucket.end(of: period) + seconds(for: period)
    }
}
