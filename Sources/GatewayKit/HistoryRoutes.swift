import AnalyticsCore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The history routes: `GET /api/analytics/timeseries`, `/breakdown` and `/export.csv`, answered
/// from ``HistoryStore``. A bad parameter gets `400` naming it; with `ANALYTICS_STATS_TOKEN` set, a
/// request without `Authorization: Bearer <token>` gets `401`; PostgreSQL unreachable or too slow
/// gets `503` (no internal detail).
struct HistoryRoutes: Sendable {
    let store: HistoryStore
    /// The token the routes require; nil: public.
    let token: String?
    /// The longest an answer may wait for PostgreSQL (a connection, then the query), after which it
    /// is `503`: the pool waits for a connection as long as it is asked to, and an unreachable
    /// database would hold the request open.
    let deadline: Duration
    let logger: Logger

    static let timeseriesPath = "/api/analytics/timeseries"
    static let breakdownPath = "/api/analytics/breakdown"
    static let exportPath = "/api/analytics/export.csv"

    func add(to router: Router<GatewayRequestContext>) {
        router.get(RouterPath(Self.timeseriesPath)) { request, _ in await answer(request, route: .timeseries) }
        router.get(RouterPath(Self.breakdownPath)) { request, _ in await answer(request, route: .breakdown) }
        router.get(RouterPath(Self.exportPath)) { request, _ in await answer(request, route: .export) }
    }

    func answer(_ request: Request, route: HistoryRequest.Route) async -> Response {
        if let refusal = authorization(request) { return refusal }
        let question: HistoryRequest
        do {
            let parameters = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
            question = try HistoryRequest.parse(
                route: route, parameters: parameters, today: TimeBucket(epochMilliseconds: EpochClock.milliseconds()).date)
        } catch {
            return JSONResponse.error(error.description, status: .badRequest)
        }
        do {
            return try await Self.within(deadline) { try await answer(question, route: route) }
        } catch {
            logger.error(
                "history query failed",
                metadata: ["path": "\(request.uri.path)", "error": "\(Redaction.redactingPasswords(in: "\(error)"))"])
            return JSONResponse.error("history unavailable, try again later", status: .serviceUnavailable, retryAfter: 5)
        }
    }

    /// Runs `body`, or throws ``DeadlineExceeded`` once `deadline` has passed (cancelling it).
    static func within<T: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw DeadlineExceeded()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// The history took longer than the deadline.
    struct DeadlineExceeded: Error, CustomStringConvertible {
        var description: String { "no answer from PostgreSQL within the deadline" }
    }

    private func answer(_ question: HistoryRequest, route: HistoryRequest.Route) async throws -> Response {
        switch question.kind {
        case .timeseries(let metric, let interval):
            let counts = try await store.timeseries(question, interval: interval, metric: metric)
            let points = HistoryTimeline(from: question.from, to: question.to, interval: interval).points.map {
                (label: $0.label, value: counts[$0.start]?[metric] ?? 0)
            }
            return route == .export
                ? Self.csv(
                    header: ["time", metric.rawValue], rows: points.map { [$0.label, String($0.value)] },
                    name: "timeseries-\(metric.rawValue)-\(interval.rawValue)", question)
                : JSONResponse.success(data: Self.timeseriesJSON(question, metric: metric, interval: interval, points: points))
        case .breakdown(let dimension, let metric, let limit):
            let rows = try await store.breakdown(question, dimension: dimension, sortedBy: metric, limit: limit)
            return route == .export
                ? Self.csv(
                    header: [dimension.rawValue, "events", "pageviews", "visitors"],
                    rows: rows.map { [$0.value, String($0.counts.events), String($0.counts.pageviews), String($0.counts.visitors)] },
                    name: "breakdown-\(dimension.rawValue)", question)
                : JSONResponse.success(data: Self.breakdownJSON(question, dimension: dimension, metric: metric, rows: rows))
        }
    }

    /// `401` unless the request carries the token (compared in constant time); nil when it may go on.
    func authorization(_ request: Request) -> Response? {
        guard let token else { return nil }
        let given = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let presented =
            given.count > prefix.count && given.prefix(prefix.count).lowercased() == prefix.lowercased()
            ? String(given.dropFirst(prefix.count)) : ""
        // Equal-length digests: the comparison takes as long whatever the presented token.
        if SHA256.hash(data: Array(presented.utf8)) == SHA256.hash(data: Array(token.utf8)) { return nil }
        var response = JSONResponse.error("authorization: send Authorization: Bearer <ANALYTICS_STATS_TOKEN>", status: .unauthorized)
        response.headers[.wwwAuthenticate] = #"Bearer realm="analytics""#
        return response
    }

    private static func common(_ json: inout JSONText, _ question: HistoryRequest) {
        json.field("from", question.from.isoString)
        json.raw(",")
        json.field("to", question.to.isoString)
        json.raw(#","filters":["#)
        for (index, filter) in question.filters.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.field("dimension", filter.dimension.rawValue)
            json.raw(",")
            json.field("value", filter.value)
            json.raw("}")
        }
        json.raw("]")
    }

    static func timeseriesJSON(
        _ question: HistoryRequest, metric: HistoryRequest.Metric, interval: HistoryRequest.Interval,
        points: [(label: String, value: Int64)]
    ) -> JSONText {
        var json = JSONText(capacity: 128 + points.count * 40)
        json.raw("{")
        json.field("metric", metric.rawValue)
        json.raw(",")
        json.field("interval", interval.rawValue)
        json.raw(",")
        common(&json, question)
        json.raw(#","points":["#)
        for (index, point) in points.enumerated() {
            json.raw(index > 0 ? #",{"time":"# : #"{"time":"#)
            json.string(point.label)
            json.raw(#","value":"#)
            json.raw(String(point.value))
            json.raw("}")
        }
        json.raw("]}")
        return json
    }

    static func breakdownJSON(
        _ question: HistoryRequest, dimension: HistoryRequest.Dimension, metric: HistoryRequest.Metric,
        rows: [(value: String, counts: HistoryStore.Counts)]
    ) -> JSONText {
        var json = JSONText(capacity: 128 + rows.count * 80)
        json.raw("{")
        json.field("dimension", dimension.rawValue)
        json.raw(",")
        json.field("metric", metric.rawValue)
        json.raw(",")
        common(&json, question)
        json.raw(#","rows":["#)
        for (index, row) in rows.enumerated() {
            json.raw(index > 0 ? #",{"value":"# : #"{"value":"#)
            json.string(row.value)
            json.raw(#","events":"#)
            json.raw(String(row.counts.events))
            json.raw(#","pageviews":"#)
            json.raw(String(row.counts.pageviews))
            json.raw(#","visitors":"#)
            json.raw(String(row.counts.visitors))
            json.raw("}")
        }
        json.raw("]}")
        return json
    }

    /// The rows as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or
    /// a line break), streamed in chunks.
    static func csv(header: [String], rows: [[String]], name: String, _ question: HistoryRequest) -> Response {
        let lines = [header] + rows
        let body = ResponseBody { writer in
            var buffer = ByteBuffer()
            for line in lines {
                buffer.writeString(line.map(CSVField.escaped).joined(separator: ","))
                buffer.writeString("\r\n")
                if buffer.readableBytes >= 16_384 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            try await writer.finish(nil)
        }
        let filename = "analytics-\(name)-\(question.from.isoString)-\(question.to.isoString).csv"
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8; header=present", .cacheControl: "no-store",
                .contentDisposition: #"attachment; filename="\#(filename)""#,
            ],
            body: body)
    }
}

/// One CSV field.
enum CSVField {
    /// The field as RFC 4180 writes it. A value a spreadsheet would run as a formula (starting with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`, as OWASP advises: the
    /// values come from visitors' requests.
    static func escaped(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Int64(text) == nil {
            text = "'" + text
        }
        guard text.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension HTTPField.Name {
    static let wwwAuthenticate = HTTPField.Name("WWW-Authenticate")!
    static let contentDisposition = HTTPField.Name("Content-Disposition")!
}
