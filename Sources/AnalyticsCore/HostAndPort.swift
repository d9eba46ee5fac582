/// The `host[:port]` part of a URL, with IPv6 addresses in brackets (`[::1]:6380`), shared by the
/// Redis and PostgreSQL URLs.
enum HostAndPort {
    /// nil when the port is not a number from 1 to 65535, a bracket is not closed, or the host is empty.
    static func parse(_ text: Substring, defaultHost: String, defaultPort: Int) -> (host: String, port: Int)? {
        var host = defaultHost
        var port = defaultPort
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = text.lastIndex(of: ":") {
            // An IPv6 address needs its brackets: `::1:6380` cannot be told apart.
            guard !text[..<colon].contains(":") else { return nil }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        } else if !text.isEmpty {
            host = String(text)
        }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { return nil }
            port = p
        }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    /// `host:port`, with an IPv6 host in brackets.
    static func format(host: String, port: Int) -> String {
        "\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
