/// Which requests the tracking middleware records as visits. Only a `GET` answered with an HTML page
/// is a pageview — never the dashboard, the API, the WebSocket path, the metrics scrape, health checks or static
/// files, whose machine traffic would swamp the real visits.
public enum PageviewPolicy {
    static let excludedPrefixes = ["/api/", "/ws/", "/.well-known/"]
    /// Besides machine routes, the dashboard (`/`) and its live badge: the site owner watching the
    /// figures is not a visit to the site.
    static let excludedPaths: Set<String> = [
        "/", "/embed/live", "/api", "/metrics", "/healthz", "/readyz", "/favicon.ico", "/robots.txt", "/sitemap.xml",
    ]
    static let staticExtensions: Set<String> = [
        "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "woff", "woff2", "ttf",
        "otf", "eot", "txt", "xml", "json", "pdf", "webmanifest", "mp4", "webm", "mp3", "wasm", "zip", "gz",
    ]

    /// Whether a `GET` of this path may be a pageview, decided before the handler runs; the response
    /// must still be an HTML page (``isPage(status:contentType:)``).
    /// - Parameter path: the request's path, without its query.
    public static func mayBePageview(path: String) -> Bool {
        if excludedPaths.contains(path) { return false }
        if excludedPrefixes.contains(where: { path.hasPrefix($0) }) { return false }
        let last = path.split(separator: "/").last ?? ""
        if let dot = last.lastIndex(of: ".") {
            let ext = last[last.index(after: dot)...].lowercased()
            if staticExtensions.contains(ext) { return false }
        }
        return true
    }

    /// Whether a response is an HTML page: a 2xx status with a `text/html` content type.
    public static func isPage(status: Int, contentType: String?) -> Bool {
        (200..<300).contains(status) && (contentType?.lowercased().hasPrefix("text/html") ?? false)
    }
}
