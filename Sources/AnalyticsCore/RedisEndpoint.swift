/// Where and how to reach Redis: a TCP address or a Unix socket, the logical database, and the
/// credentials. Parsed from `redis://[[user]:password@]host[:port][/db]` or `unix:///path[?db=N]`.
public struct RedisEndpoint: Sendable, Equatable {
    /// Where the server listens.
    public enum Location: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The absolute path of the socket file.
        case unixSocket(path: String)
    }

    public var location: Location
    /// The logical database (`SELECT`).
    public var database: Int
    /// With a password: `AUTH username password` (Redis 6 ACL users); without: `AUTH password`.
    public var username: String?
    /// Sent with `AUTH` on every connection; nil: no `AUTH`.
    public var password: String?

    public init(location: Location, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.location = location
        self.database = database
        self.username = username
        self.password = password
    }

    /// A server on TCP, without credentials.
    public static func tcp(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0) -> RedisEndpoint {
        RedisEndpoint(location: .tcp(host: host, port: port), database: database)
    }

    /// Parses a `redis://` or `unix://` URL; nil when it is not one. The user name and the password
    /// are percent-decoded; credentials that cannot be decoded refuse the URL, since connecting
    /// without them would hide the mistake.
    public init?(url text: String) {
        if text.hasPrefix("unix://") {
            self.init(unixSocketURL: text.dropFirst("unix://".count))
        } else if text.hasPrefix("redis://") {
            self.init(tcpURL: text.dropFirst("redis://".count))
        } else {
            return nil
        }
    }

    private init?(unixSocketURL rest: Substring) {
        var path = rest
        var database = 0
        if let q = rest.firstIndex(of: "?") {
            path = rest[..<q]
            for item in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == "db" {
                    guard let n = Int(kv[1]), n >= 0 else { return nil }
                    database = n
                }
            }
        }
        guard path.hasPrefix("/") else { return nil }
        self.init(location: .unixSocket(path: String(path)), database: database)
    }

    private init?(tcpURL text: Substring) {
        var rest = text
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                if !user.isEmpty {
                    guard let decoded = user.percentDecoded else { return nil }
                    username = decoded
                }
                guard let decoded = credentials[credentials.index(after: colon)...].percentDecoded else { return nil }
                password = decoded
            } else {
                guard let decoded = credentials.percentDecoded else { return nil }
                password = decoded
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let n = Int(path), n >= 0 else { return nil }
                database = n
            }
        }
        guard let (host, port) = HostAndPort.parse(rest, defaultHost: "127.0.0.1", defaultPort: 6379) else { return nil }
        self.init(location: .tcp(host: host, port: port), database: database, username: username, password: password)
    }

    /// The URL without its password, for logs.
    public var redacted: String {
        switch location {
        case .tcp(let host, let port):
            let auth = password == nil ? "" : "\(username ?? ""):***@"
            return "redis://\(auth)\(HostAndPort.format(host: host, port: port))/\(database)"
        case .unixSocket(let path):
            return "unix://\(path)?db=\(database)"
        }
    }
}
