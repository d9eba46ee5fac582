import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The API's two answer shapes: `{"success": true, "data": …}` and `{"error": "…"}`.
enum JSONResponse {
    static func success(data: JSONText, status: HTTPResponse.Status = .ok) -> Response {
        var body = JSONText(capacity: data.bytes.count + 32)
        body.raw(#"{"success":true,"data":"#)
        body.raw(data.bytes)
        body.raw("}")
        return make(body, status: status)
    }

    static func error(_ message: String, status: HTTPResponse.Status, retryAfter: Int? = nil) -> Response {
        var response = make(errorBody(message), status: status)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    static func errorBody(_ message: String) -> JSONText {
        var body = JSONText(capacity: message.utf8.count + 16)
        body.raw(#"{"error":"#)
        body.string(message)
        body.raw("}")
        return body
    }

    static let headerFields: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]

    static func make(_ body: JSONText, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: headerFields, body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}
