import AnalyticsCore
import RedisClient

/// What the script reports back.
public struct AggregationOutcome: Sendable, Equatable {
    /// One flag per counted entry of the batch: true if this application counted it, false if it
    /// had already been acknowledged (a re-delivery).
    public var applied: [Bool]
    /// Growth of the day unique-visitor HyperLogLogs (the "new visitors" of the batch).
    public var newUniqueVisitors: Int
    public var currentVisitors: Int
    public var uniqueToday: Int
    public var themeScores: [(theme: String, views: Double)]

    public var appliedCount: Int { applied.lazy.filter { $0 }.count }

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

    public static func == (a: AggregationOutcome, b: AggregationOutcome) -> Bool {
        a.applied == b.applied && a.newUniqueVisitors == b.newUniqueVisitors && a.currentVisitors == b.currentVisitors
            && a.uniqueToday == b.uniqueToday && a.themeScores.map(\.theme) == b.themeScores.map(\.theme)
            && a.themeScores.map(\.views) == b.themeScores.map(\.views)
    }
}
