import AnalyticsCore
import NIOSSL
import PostgresNIO

extension PostgresEndpoint {
    /// The PostgresNIO pool configuration for this endpoint: TCP (with TLS as `tls` says) or the
    /// Unix socket, a 3-second connection timeout and at most 8 connections. Every connection
    /// starts with the session timeouts given, so that no statement, lock wait or forgotten
    /// transaction holds the database indefinitely.
    public func clientConfiguration(timeouts: SessionTimeouts = SessionTimeouts()) -> PostgresClient.Configuration {
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
        configuration.options.additionalStartupParameters = timeouts.startupParameters
        return configuration
    }

    /// PostgreSQL's own limits on a session, set when it starts.
    public struct SessionTimeouts: Sendable, Equatable {
        /// `statement_timeout`: the longest one statement may run.
        public var statement: Duration = .seconds(300)
        /// `lock_timeout`: the longest a statement waits for a lock.
        public var lock: Duration = .seconds(30)
        /// `idle_in_transaction_session_timeout`: a session idle this long inside a transaction is ended.
        public var idleInTransaction: Duration = .seconds(60)

        /// The defaults: 300 s, 30 s and 60 s.
        public init() {}

        /// The timeouts the configuration sets (`ANALYTICS_DATABASE_*_TIMEOUT_SEC`).
        public init(_ configuration: AnalyticsConfiguration) {
            statement = .seconds(configuration.databaseStatementTimeoutSeconds)
            lock = .seconds(configuration.databaseLockTimeoutSeconds)
            idleInTransaction = .seconds(configuration.databaseIdleTransactionTimeoutSeconds)
        }

        /// The settings as startup parameters, in milliseconds, and `jit` off: the service's
        /// statements are short, and over daily partitions the planner's cost estimates pass JIT's
        /// threshold while compiling the plan's hundreds of expressions takes longer than running
        /// them (bench/README.md, the history's filtered questions).
        var startupParameters: [(String, String)] {
            [
                ("statement_timeout", String(statement.inMilliseconds)),
                ("lock_timeout", String(lock.inMilliseconds)),
                ("idle_in_transaction_session_timeout", String(idleInTransaction.inMilliseconds)),
                ("jit", "off"),
            ]
        }
    }
}
