import Foundation
import NIOSSL
import PostgresNIO

/// `ANALYTICS_DATABASE_URL`: `postgres://user[:password]@host[:port]/database[?sslmode=…&host=/socket/dir]`.
/// `sslmode`: `disable` (default), `prefer` or `require`; a `host` query parameter names a Unix
/// socket directory, as libpq does.
public struct DatabaseURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(ParseError) {
        var rest: Substring
        if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw ParseError(description: "expected postgres://…")
        }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        username = "postgres"
        password = nil
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = Self.decode(credentials[..<colon])
                password = Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                username = Self.decode(credentials)
            }
        }
        database = "postgres"
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            if !name.isEmpty { database = Self.decode(name) }
            rest = rest[..<slash]
        }
        host = "127.0.0.1"
        port = 5432
        if let colon = rest.lastIndex(of: ":"), !rest.hasPrefix("[") || rest[..<colon].hasSuffix("]") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw ParseError(description: "bad port in \(text)")
            }
            port = p
            rest = rest[..<colon]
        }
        if !rest.isEmpty { host = String(rest.trimmingPrefix("[")).replacingOccurrences(of: "]", with: "") }
        tls = .disable
        socketDirectory = nil
        for item in query.split(separator: "&") {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "sslmode":
                switch kv[1] {
                case "disable", "allow": tls = .disable
                case "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw ParseError(description: "unknown sslmode \(kv[1])")
                }
            case "host":
                socketDirectory = Self.decode(Substring(kv[1]))
            default:
                continue
            }
        }
    }

    static func decode(_ s: Substring) -> String {
        s.removingPercentEncoding ?? String(s)
    }

    /// The URL without its password, for logs.
    public var redacted: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    public func clientConfiguration() -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = .init(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            let tlsConfiguration: PostgresClient.Configuration.TLS =
                switch tls {
                case .disable: .disable
                case .prefer: .prefer(.makeClientConfiguration())
                case .require: .require(.makeClientConfiguration())
                }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tlsConfiguration)
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 8
        return configuration
    }
}
