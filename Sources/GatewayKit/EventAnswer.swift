import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The answer to an event POST: a JSON body in the API's shapes (see `JSONResponse`).
public struct EventAnswer: Sendable {
    public let status: HTTPResponse.Status
    public let json: JSONText
    public var retryAfter: Int?
    public var setCookie: String?

    init(status: HTTPResponse.Status, json: JSONText, retryAfter: Int? = nil, setCookie: String? = nil) {
        self.status = status
        self.json = json
        self.retryAfter = retryAfter
        self.setCookie = setCookie
    }

    static func error(_ message: String, status: HTTPResponse.Status, retryAfter: Int? = nil) -> EventAnswer {
        EventAnswer(status: status, json: JSONResponse.errorBody(message), retryAfter: retryAfter)
    }

    static let storageUnavailable = EventAnswer.error(
        "event not recorded: storage unavailable, retry later", status: .serviceUnavailable, retryAfter: 1)

    /// Every header of the answer but `Date`, `Server` and `Content-Length`.
    var headerFields: HTTPFields {
        var fields = JSONResponse.headerFields
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        if let setCookie { fields[.setCookie] = setCookie }
        return fields
    }
}
