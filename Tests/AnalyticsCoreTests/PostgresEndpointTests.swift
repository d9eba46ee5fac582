import AnalyticsCore
import Testing

@Suite("PostgresEndpoint")
struct PostgresEndpointTests {
    @Test func everyPartOfTheURLIsParsed() throws {
        #expect(try PostgresEndpoint(url: "postgres://127.0.0.1:5432/analytics") == PostgresEndpoint(database: "analytics"))
        #expect(
            try PostgresEndpoint(url: "postgresql://u:p@db:5433/a")
                == PostgresEndpoint(host: "db", port: 5433, username: "u", password: "p", database: "a"))
        let full = try PostgresEndpoint(url: "postgres://alice:p%40ss@[fd00::7]:6432/stats?sslmode=require")
        #expect(full.host == "fd00::7")
        #expect(full.port == 6432)
        #expect(full.username == "alice")
        #expect(full.password == "p@ss")
        #expect(full.database == "stats")
        #expect(full.tls == .require)
        let socket = try PostgresEndpoint(url: "postgres://postgres@:5439/analytics?host=%2Ftmp%2Fpg")
        #expect(socket.socketDirectory == "/tmp/pg")
        #expect(socket.port == 5439)
    }

    @Test func defaultsFillWhatTheURLLeavesOut() throws {
        let bare = try PostgresEndpoint(url: "postgres://")
        #expect(bare == PostgresEndpoint())
        #expect(bare.host == "127.0.0.1" && bare.port == 5432 && bare.username == "postgres" && bare.database == "postgres")
        #expect(try PostgresEndpoint(url: "postgres://db").host == "db")
        #expect(try PostgresEndpoint(url: "postgres://db?sslmode=prefer").tls == .prefer)
        #expect(try PostgresEndpoint(url: "postgres://db?sslmode=verify-full").tls == .require)
        #expect(try PostgresEndpoint(url: "postgres://db?sslmode=allow").tls == .disable)
    }

    @Test(arguments: [
        "http://db/x", "db:5432", "", "postgres://db:0/x", "postgres://db:99999/x", "postgres://db:abc/x",
        "postgres://db?sslmode=maybe", "postgres://u:%zz@db/x", "postgres://[::1/x",
    ])
    func malformedURLsAreRefusedWithWhatWasExpected(text: String) {
        #expect(throws: InvalidValue.self) { try PostgresEndpoint(url: text) }
    }

    @Test func aBadURLStopsTheConfigurationNamingTheVariable() {
        do {
            _ = try AnalyticsConfiguration.load(environment: ["ANALYTICS_DATABASE_URL": "postgres://db:99999/x"])
            Issue.record("accepted")
        } catch {
            #expect(error.variable == "ANALYTICS_DATABASE_URL")
            #expect(error.message.contains("'postgres://db:99999/x'"))
            #expect(error.message.contains("port from 1 to 65535"))
        }
    }

    @Test func redactedHidesThePassword() throws {
        let endpoint = try PostgresEndpoint(url: "postgres://alice:s3cret@db:5433/stats")
        #expect(endpoint.redacted == "postgres://alice:***@db:5433/stats")
        #expect(try PostgresEndpoint(url: "postgres://alice@[::1]/stats").redacted == "postgres://alice@[::1]:5432/stats")
    }
}
