/// Where and how to reach PostgreSQL, parsed from
/// `postgres://user[:password]@host[:port]/database[?sslmode=…&host=/socket/dir]` (or `postgresql://`).
/// `sslmode` is `disable` (the default), `prefer` or `require` (`allow` counts as `disable`,
/// `verify-ca` and `verify-full` as `require`); a `host` query parameter names the directory of a
/// Unix socket, as libpq's does.
public struct PostgresEndpoint: Sendable, Equatable {
    /// Whether the connection uses TLS: never, when the server offers it, or always.
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    /// Host name or address; unused when ``socketDirectory`` is set.
    public var host: String
    /// The TCP port, or the number in the Unix socket's name.
    public var port: Int
    /// When set, the server is reached through `<socketDirectory>/.s.PGSQL.<port>` instead of TCP.
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// An endpoint from its parts; the defaults are PostgreSQL's own (user and database `postgres` on
    /// `127.0.0.1:5432`), without TLS.
    public init(
        host: String = "127.0.0.1", port: Int = 5432, socketDirectory: String? = nil, username: String = "postgres",
        password: String? = nil, database: String = "postgres", tls: TLSMode = .disable
    ) {
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses the URL. A part the URL leaves out keeps its default; the user name, password,
    /// database and socket directory are percent-decoded; unknown query parameters are ignored.
    /// - Throws: ``InvalidValue``, saying what is wrong with it.
    public init(url text: String) throws(InvalidValue) {
        let scheme = ["postgres://", "postgresql://"].first { text.hasPrefix($0) }
        guard let scheme else { throw InvalidValue(expected: "postgres://user:password@host:port/database") }
        var rest = text.dropFirst(scheme.count)
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        self.init()
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let user = credentials.firstIndex(of: ":").map { credentials[..<$0] } ?? credentials
            username = try Self.decode(user, "the user name")
            if let colon = credentials.firstIndex(of: ":") {
                password = try Self.decode(credentials[credentials.index(after: colon)...], "the password")
            }
        }
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            if !name.isEmpty { database = try Self.decode(name, "the database name") }
            rest = rest[..<slash]
        }
        // `user@:5439/db?host=/socket/dir`: no host, as libpq allows when a socket directory is given.
        let address = rest.hasPrefix(":") ? Substring(host + rest) : rest
        guard let (host, port) = HostAndPort.parse(address, defaultHost: host, defaultPort: port) else {
            throw InvalidValue(expected: "a host and a port from 1 to 65535 (an IPv6 address in brackets)")
        }
        self.host = host
        self.port = port
        for item in query.split(separator: "&") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "sslmode":
                switch kv[1] {
                case "disable", "allow": tls = .disable
                case "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw InvalidValue(expected: "sslmode disable, prefer or require, not \(kv[1])")
                }
            case "host":
                socketDirectory = try Self.decode(kv[1], "the socket directory")
            default:
                continue
            }
        }
    }

    private static func decode(_ text: Substring, _ what: String) throws(InvalidValue) -> String {
        guard let decoded = text.percentDecoded else { throw InvalidValue(expected: "\(what) percent-encoded (%XX)") }
        return decoded
    }

    /// The URL without its password, for logs.
    public var redacted: String {
        let credentials = "\(username)\(password == nil ? "" : ":***")@"
        let socket = socketDirectory.map { "?host=\($0)" } ?? ""
        return "postgres://\(credentials)\(HostAndPort.format(host: host, port: port))/\(database)\(socket)"
    }
}
