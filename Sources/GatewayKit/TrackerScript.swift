import AnalyticsCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The tracker script (`tracker/analytics.js`) served at `GET /js/analytics.js` as a ``StaticFile``.
enum TrackerScript {
    static let path = "/js/analytics.js"
    static let file = StaticFile(text: source, contentType: "text/javascript; charset=utf-8")
    /// The script as sent to browsers that accept gzip.
    static var gzipped: [UInt8] { file.gzipped }

    /// The answer to `GET /js/analytics.js`.
    static func response(for headers: HTTPFields) -> Response {
        file.response(for: headers)
    }
}
