/// A question to the history (`/api/analytics/timeseries`, `/breakdown`, `/export.csv`), read and
/// checked from a request's query parameters. Dates are UTC days, both ends included.
public struct HistoryRequest: Sendable, Equatable {
    /// What is counted.
    public enum Metric: String, Sendable, CaseIterable {
        case pageviews, events, visitors
    }

    /// The width of a timeseries point. Weeks are ISO weeks (from Monday), months calendar months.
    public enum Interval: String, Sendable, CaseIterable {
        case hour, day, week, month
    }

    /// What a breakdown groups by, or a filter selects on, by its name in the API.
    public enum Dimension: String, Sendable, CaseIterable {
        case page, host, referrer
        case utmSource = "utm_source"
        case utmMedium = "utm_medium"
        case utmCampaign = "utm_campaign"
        case browser
        case browserVersion = "browser_version"
        case os, device, country
        case eventType = "event_type"

        /// The column of `analytics_events` (and dimension of the rollups) that holds it.
        public var column: String {
            switch self {
            case .page: EventDimensions.Name.path.rawValue
            case .referrer: EventDimensions.Name.referrerSource.rawValue
            case .eventType: "event_type"
            default: rawValue
            }
        }
    }

    /// Events whose dimension has this value (an empty value selects events without one).
    public struct Filter: Sendable, Equatable {
        public var dimension: Dimension
        public var value: String

        /// - Parameters:
        ///   - dimension: the dimension compared.
        ///   - value: the value it must have.
        public init(dimension: Dimension, value: String) {
            self.dimension = dimension
            self.value = value
        }
    }

    /// Which question.
    public enum Kind: Sendable, Equatable {
        /// One point per interval, zeros included.
        case timeseries(metric: Metric, interval: Interval)
        /// Rows per value of a dimension, sorted by a metric (highest first), at most `limit`.
        case breakdown(dimension: Dimension, sortedBy: Metric, limit: Int)
    }

    public var kind: Kind
    /// The first day, included.
    public var from: CivilDate
    /// The last day, included.
    public var to: CivilDate
    /// Every filter must hold (AND).
    public var filters: [Filter]

    /// The longest range, in days (two years, a leap day included).
    public static let maximumDays = 731
    /// The most rows a breakdown returns, and the rows it returns when `limit` is not given.
    public static let maximumLimit = 1000
    public static let defaultLimit = 10
    /// The most filters in one request.
    public static let maximumFilters = 10
    /// The days covered when `from` is not given: a week ending on `to`.
    public static let defaultDays = 7

    /// - Parameters:
    ///   - kind: the question.
    ///   - from: the first day.
    ///   - to: the last day.
    ///   - filters: the filters, all of which must hold.
    public init(kind: Kind, from: CivilDate, to: CivilDate, filters: [Filter] = []) {
        self.kind = kind
        self.from = from
        self.to = to
        self.filters = filters
    }

    /// The number of days from ``from`` to ``to``, both included.
    public var dayCount: Int { to.daysSinceEpoch - from.daysSinceEpoch + 1 }
}

/// Why a history request was refused: the parameter at fault and what it must be. Answered `400`.
public struct HistoryRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The query parameter at fault.
    public var parameter: String
    /// What is wrong with it, for the person who wrote the request.
    public var reason: String

    public var description: String { "\(parameter): \(reason)" }
}

extension HistoryRequest {
    /// Which of the three routes a request came to: they take different parameters.
    public enum Route: Sendable {
        case timeseries, breakdown
        /// The CSV export: a breakdown when `dimension` is given, a timeseries otherwise; it takes the
        /// parameters of both, checks them all, and ignores those of the other kind (`interval` or `limit`).
        case export
    }

    /// Reads a request from its query parameters.
    /// - Parameters:
    ///   - route: the route asked, which says which parameters it takes.
    ///   - parameters: the query's name/value pairs, percent-decoded, in order (a name may repeat:
    ///     `filter`).
    ///   - today: the current UTC day: the default `to`, and the latest a range may end.
    /// - Throws: ``HistoryRequestError`` naming the first parameter at fault: unknown, repeated (but
    ///   `filter`), malformed, a range longer than ``maximumDays`` or ending before it starts, a limit
    ///   outside 1…``maximumLimit``.
    public static func parse(route: Route, parameters: [(name: String, value: String)], today: CivilDate) throws(HistoryRequestError)
        -> HistoryRequest
    {
        var single: [String: String] = [:]
        var filters: [Filter] = []
        let isBreakdown: Bool
        switch route {
        case .timeseries: isBreakdown = false
        case .breakdown: isBreakdown = true
        case .export: isBreakdown = parameters.contains { $0.name == "dimension" }
        }
        let breakdownParameters: Set<String> = ["dimension", "metric", "from", "to", "limit", "filter"]
        let timeseriesParameters: Set<String> = ["metric", "interval", "from", "to", "filter"]
        // The export takes both kinds' parameters, checks them all and ignores those of the other kind.
        let allowed =
            route == .export ? breakdownParameters.union(timeseriesParameters) : isBreakdown ? breakdownParameters : timeseriesParameters
        for (name, value) in parameters {
            guard allowed.contains(name) else {
                throw HistoryRequestError(
                    parameter: name, reason: "unknown parameter; this request takes \(allowed.sorted().joined(separator: ", "))")
            }
            if name == "filter" {
                guard filters.count < maximumFilters else {
                    throw HistoryRequestError(parameter: name, reason: "at most \(maximumFilters) filters")
                }
                filters.append(try filter(value))
            } else {
                guard single[name] == nil else { throw HistoryRequestError(parameter: name, reason: "given more than once") }
                single[name] = value
            }
        }
        let metric = try choice(Metric.self, single["metric"], parameter: "metric", default: .visitors)
        let to = try day(single["to"], parameter: "to") ?? today
        let from = try day(single["from"], parameter: "from") ?? CivilDate(daysSinceEpoch: to.daysSinceEpoch - defaultDays + 1)
        guard from <= to else { throw HistoryRequestError(parameter: "from", reason: "must not be after to (\(to.isoString))") }
        guard to.daysSinceEpoch - from.daysSinceEpoch + 1 <= maximumDays else {
            throw HistoryRequestError(parameter: "from", reason: "the range may cover at most \(maximumDays) days")
        }
        var limit = defaultLimit
        if let text = single["limit"] {
            guard let n = Int(text), (1...maximumLimit).contains(n) else {
                throw HistoryRequestError(parameter: "limit", reason: "must be a whole number from 1 to \(maximumLimit)")
            }
            limit = n
        }
        let interval = try choice(Interval.self, single["interval"], parameter: "interval", default: .day)
        let kind: Kind
        if isBreakdown {
            guard let name = single["dimension"] else {
                throw HistoryRequestError(parameter: "dimension", reason: "missing; one of \(names(Dimension.self))")
            }
            kind = .breakdown(
                dimension: try choice(Dimension.self, name, parameter: "dimension", default: .page), sortedBy: metric, limit: limit)
        } else {
            kind = .timeseries(metric: metric, interval: interval)
        }
        return HistoryRequest(kind: kind, from: from, to: to, filters: filters)
    }

    private static func names<T: CaseIterable & RawRepresentable>(_ type: T.Type) -> String where T.RawValue == String {
        T.allCases.map(\.rawValue).joined(separator: ", ")
    }

    private static func choice<T: CaseIterable & RawRepresentable>(_ type: T.Type, _ text: String?, parameter: String, default value: T)
        throws(HistoryRequestError) -> T where T.RawValue == String
    {
        guard let text else { return value }
        guard let chosen = T(rawValue: text) else {
            throw HistoryRequestError(parameter: parameter, reason: "must be one of \(names(T.self))")
        }
        return chosen
    }

    private static func day(_ text: String?, parameter: String) throws(HistoryRequestError) -> CivilDate? {
        guard let text else { return nil }
        guard text.utf8.count == 10, let date = CivilDate(iso: text), date.isoString == text, date.year >= 1970 else {
            throw HistoryRequestError(parameter: parameter, reason: "must be a date as YYYY-MM-DD (UTC), from 1970")
        }
        return date
    }

    private static func filter(_ text: String) throws(HistoryRequestError) -> Filter {
        guard let colon = text.firstIndex(of: ":"), let dimension = Dimension(rawValue: String(text[..<colon])) else {
            throw HistoryRequestError(parameter: "filter", reason: "must be dimension:value, the dimension one of \(names(Dimension.self))")
        }
        let value = String(text[text.index(after: colon)...])
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
            value.utf8.count <= EventDimensions.maximumValueLength * 4
        else {
            throw HistoryRequestError(parameter: "filter", reason: "the value must be text without control characters")
        }
        return Filter(dimension: dimension, value: value)
    }
}
