import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The answer to an event POST, decided by ``EventIngest`` and written by the event route's channel
/// handler: a status, a JSON body in the API's shapes (`{"success":true,…}` or `{"error":"…"}`, see
/// `JSONResponse`) and the optional `Retry-After` and `Set-Cookie` headers.
public struct EventAnswer: Sendable {
    /// 201 once the event is on the stream; 4xx for a refused event; 503 when Redis did not take it.
    public let status: HTTPResponse.Status
    /// The response body.
    public let json: JSONText
    /// Seconds for the `Retry-After` header, on 429 and 503 answers.
    public var retryAfter: Int?
    /// The whole `Set-Cookie` value giving the visitor its id, when the request had no valid cookie
    /// and cookies are on.
    public var setCookie: String?
    /// The `Access-Control-Allow-Origin` value for a browser on another origin, and whether it
    /// echoes the request's origin (then `Vary: Origin` goes with it).
    public var allowOrigin: (value: String, variesByOrigin: Bool)?
    /// Why the event was dropped (the `X-Analytics-Dropped` header), when it was.
    public var dropReason: GatewayMetrics.DropReason?

    init(status: HTTPResponse.Status, json: JSONText, retryAfter: Int? = nil, setCookie: String? = nil) {
        self.status = status
        self.json = json
        self.retryAfter = retryAfter
        self.setCookie = setCookie
    }

    static func error(_ message: String, status: HTTPResponse.Status, retryAfter: Int? = nil) -> EventAnswer {
        EventAnswer(status: status, json: JSONResponse.errorBody(message), retryAfter: retryAfter)
    }

    /// The 202 for an event dropped on purpose (a bot, referrer spam): the client has nothing to
    /// retry; `X-Analytics-Dropped` says why.
    static func ignored(_ reason: GatewayMetrics.DropReason) -> EventAnswer {
        var json = JSONText(capacity: 48)
        json.raw(#"{"success":true,"message":"Event ignored"}"#)
        var answer = EventAnswer(status: .accepted, json: json)
        answer.dropReason = reason
        return answer
    }

    /// The 503 for an event Redis did not take (or may not have taken): the client should retry.
    static let storageUnavailable = EventAnswer.error(
        "event not recorded: storage unavailable, retry later", status: .serviceUnavailable, retryAfter: 1)

    /// The 503 for an event refused while the stream is at its ceiling: the archiver is behind, so
    /// the client is asked to come back in a while rather than at once.
    static let streamFull = EventAnswer.error(
        "event not recorded: the service is catching up, retry later", status: .serviceUnavailable, retryAfter: 30)

    /// Every header of the answer but `Date`, `Server` and `Content-Length`.
    var headerFields: HTTPFields {
        var fields = JSONResponse.headerFields
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        if let setCookie { fields[.setCookie] = setCookie }
        if let dropReason { fields[.analyticsDropped] = dropReason.rawValue }
        if let allowOrigin {
            fields[.accessControlAllowOrigin] = allowOrigin.value
            // The tracker on another origin reads it to know when to send a refused event again.
            if retryAfter != nil { fields[.accessControlExposeHeaders] = "Retry-After" }
            if allowOrigin.variesByOrigin { fields[.vary] = "Origin" }
        }
        return fields
    }
}
