import AnalyticsCore
import RedisClient

/// What the aggregator's script reports back for one ``AggregationBatch``.
public struct AggregationOutcome: Sendable, Equatable {
    /// One flag per event of the batch (``AggregationBatch/entries``, dead entries excluded), in
    /// order: true if this application counted it, false if it had already been acknowledged (a
    /// re-delivery).
    public var applied: [Bool]
    /// Growth of the day unique-visitor HyperLogLogs (the "new visitors" of the batch).
    public var newUniqueVisitors: Int
    /// Members of the active-visitor set once the script had trimmed it.
    public var currentVisitors: Int
    /// Today's unique visitors (the day HyperLogLog's count), today by the aggregator's clock.
    public var uniqueToday: Int
    /// The new all-time score of each theme the batch counted views for.
    public var themeScores: [(theme: String, views: Double)]

    /// Events this application counted.
    public var appliedCount: Int { applied.lazy.filter { $0 }.count }

    /// Parses the script's reply.
    /// - Throws: `RedisError.unexpectedReply` when the reply does not have the script's shape.
    public init(_ reply: RedisValue) throws(RedisError) {
        guard case .array(let parts) = reply, parts.count == 5, let flags = parts[0].string,
            let newUniques = parts[1].int, let current = parts[2].int, let today = parts[3].int, let scores = parts[4].array
        else { throw .unexpectedReply("aggregation script") }
        applied = flags.utf8.map { $0 == UInt8(ascii: "1") }
        newUniqueVisitors = newUniques
        currentVisitors = current
        uniqueToday = today
        var themes: [(String, Double)] = []
        var i = 0
        while i + 1 < scores.count {
            themes.append((scores[i].string ?? "", scores[i + 1].double ?? 0))
            i += 2
        }
        themeScores = themes
    }

    /// Compares every field (by hand, as tuples are not `Equatable`).
    public static func == (a: AggregationOutcome, b: AggregationOutcome) -> Bool {
        a.applied == b.applied && a.newUniqueVisitors == b.newUniqueVisitors && a.currentVisitors == b.currentVisitors
            && a.uniqueToday == b.uniqueToday && a.themeScores.map(\.theme) == b.themeScores.map(\.theme)
            && a.themeScores.map(\.views) == b.themeScores.map(\.views)
    }
}
