/// Which requests are visits. Only a `GET` answered with an HTML page is a pageview — never the API,
/// the metrics scrape, health checks or static files (the seed counted all of them: defect 12).
public enum PageviewPolicy {
    static let excludedPrefixes = ["/api/", "/ws/", "/.well-known/"]
    static let excludedPaths: Set<String> = ["/api", "/metrics", "/healthz", "/readyz", "/favicon.ico", "/robots.txt", "/sitemap.xml"]
    static let staticExtensions: Set<String> = [
        "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "woff", "woff2", "ttf",
        "otf", "eot", "txt", "xml", "json", "pdf", "webmanifest", "mp4", "webm", "mp3", "wasm", "zip", "gz",
    ]

    /// Whether a `GET` of this path may be a pageview (the response must still be HTML).
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

    /// Whether a response is an HTML page.
    public static func isPage(status: Int, contentType: String?) -> Bool {
        (200..<300).contains(status) && (contentType?.lowercased().hasPrefix("text/html") ?? false)
    }
}
