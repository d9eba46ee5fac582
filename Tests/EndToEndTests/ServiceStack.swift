import AnalyticsCore
import Foundation
import RedisClient
import TestSupport

/// The whole pipeline as real processes: throwaway Redis and PostgreSQL, and the gateway,
/// aggregator and archiver executables configured through their environment.
final class ServiceStack: Sendable {
    let redis: RedisServer
    let postgres: PostgresServer
    let client: RedisClient
    let gateway: ServiceProcess
    let aggregator: ServiceProcess
    let archiver: ServiceProcess
    /// The WebSocket hub, when the stack was asked for one, and its port.
    let hub: ServiceProcess?
    let hubPort: Int
    let http: HTTPTestClient
    let aggregatorAdmin: HTTPTestClient
    let archiverAdmin: HTTPTestClient
    let archiveDirectory: TemporaryDirectory
    let environment: [String: String]
    let keyspace = RedisKeyspace()

    init(rateLimit: Int = 0, withHub: Bool = false, extraEnvironment: [String: String] = [:]) async throws {
        async let redisServer = RedisServer()
        async let postgresServer = PostgresServer()
        redis = try await redisServer
        postgres = try await postgresServer
        client = redis.client(name: "e2e")
        archiveDirectory = TemporaryDirectory("archive")
        let httpPort = FreePort.next()
        let aggregatorPort = FreePort.next()
        let archiverPort = FreePort.next()
        hubPort = FreePort.next()
        var environment = [
            "ANALYTICS_REDIS_URL": redis.url, "ANALYTICS_DATABASE_URL": postgres.url, "ANALYTICS_HTTP_PORT": String(httpPort),
            "ANALYTICS_RATE_LIMIT": String(rateLimit), "ANALYTICS_LOG_LEVEL": "info",
            // The pipeline's tests send events as scripts do, without a browser's user agent.
            "ANALYTICS_BOT_FILTER": "off",
            "ANALYTICS_ARCHIVE_DIR": archiveDirectory.path, "ANALYTICS_MIGRATIONS_DIR": Self.migrationsDirectory,
            "ANALYTICS_WS_PORT": String(hubPort),
        ]
        environment.merge(extraEnvironment) { $1 }
        self.environment = environment
        let directory = redis.directory.url
        gateway = try ServiceProcess(.gateway, environment: environment, directory: directory)
        aggregator = try ServiceProcess(
            .aggregator,
            environment: environment.merging(["ANALYTICS_ADMIN_PORT": String(aggregatorPort), "ANALYTICS_CONSUMER_NAME": "e2e-aggregator"])
            { $1 },
            directory: directory)
        archiver = try ServiceProcess(
            .archiver,
            environment: environment.merging(["ANALYTICS_ADMIN_PORT": String(archiverPort), "ANALYTICS_CONSUMER_NAME": "e2e-archiver"]) {
                $1
            },
            directory: directory)
        hub = withHub ? try ServiceProcess(.wshub, environment: environment, directory: directory) : nil
        http = HTTPTestClient(port: httpPort)
        aggregatorAdmin = HTTPTestClient(port: aggregatorPort)
        archiverAdmin = HTTPTestClient(port: archiverPort)
        let http = self.http
        guard await eventually(timeout: .seconds(30), { (try? await http.get("/readyz"))?.status == 200 }) else {
            throw TestSupportError("stack not ready\n\(gateway.output)\n\(aggregator.output)\n\(archiver.output)")
        }
    }

    static var migrationsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations").path
    }

    /// Runs `analytics-archiver` with a command (migrate, retention, import, rebuild) to completion.
    func archiverCommand(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
        let process = try ChildProcess(
            executable: BuildProducts.executable(ServiceExecutable.archiver.rawValue), arguments: arguments,
            environment: environment.merging(["ANALYTICS_ADMIN_PORT": String(FreePort.next())]) { $1 },
            logDirectory: redis.directory.url, name: "archiver-\(arguments.first ?? "")")
        let status = await process.waitForExit(timeout: .seconds(120))
        return (status, process.output)
    }

    /// Sum of every day counter: exact whatever UTC midnight the test runs across.
    func countedEvents() async throws -> Int {
        let keys = try await client.send("KEYS", "\(keyspace.prefix):stats:day:*:total_events").array?.compactMap(\.string) ?? []
        var total = 0
        for key in keys { total += try await client.send("GET", key).int ?? 0 }
        return total
    }

    func storedEvents() throws -> Int {
        Int(try postgres.psql("SELECT count(*) FROM analytics_events")) ?? -1
    }

    func shutdown() async {
        await hub?.stop()
        await gateway.stop()
        await aggregator.stop()
        await archiver.stop()
        await client.shutdown()
    }

    struct LoadTally: Sendable {
        /// Answered 201.
        var accepted = 0
        /// Answered otherwise, or not at all.
        var other = 0
    }

    /// Posts events from `concurrency` tasks while `during` runs, then stops and counts the answers.
    func underLoad(concurrency: Int, _ during: () async throws -> Void) async throws -> LoadTally {
        let tally = Locked(LoadTally())
        let stop = Locked(false)
        let load = Task {
            await Self.load(http, concurrency: concurrency, stop: stop) { status, _ in
                tally.withLock { if status == 201 { $0.accepted += 1 } else { $0.other += 1 } }
            }
        }
        do {
            try await during()
        } catch {
            stop.withLock { $0 = true }
            await load.value
            throw error
        }
        stop.withLock { $0 = true }
        await load.value
        return tally.value
    }

    /// SIGKILLs the process `times` times, `every` apart, restarting it after a moment each time.
    func crashRepeatedly(_ process: ServiceProcess, times: Int, every: Duration) async throws {
        for _ in 0..<times {
            try await Task.sleep(for: every)
            await process.crash()
            try await Task.sleep(for: .milliseconds(200))
            try process.start()
        }
        try await Task.sleep(for: every)
    }

    /// Posts events from `concurrency` tasks until `stop` is set, reporting each status.
    static func load(
        _ http: HTTPTestClient, concurrency: Int, stop: Locked<Bool>, onAnswer: @escaping @Sendable (Int, String?) -> Void
    ) async {
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var i = 0
                    while !stop.value {
                        i += 1
                        let body =
                            i % 10 == 0
                            ? #"{"event_type":"cv_theme_view","event_data":{"theme":"t\#(worker % 3)"}}"#
                            : i % 25 == 0
                                ? #"{"event_type":"letter_generated","event_data":{"type":"motivation"}}"#
                                : #"{"event_type":"click","event_data":{"n":\#(i)}}"#
                        if let answer = try? await http.post("/api/analytics/event", body: body, timeout: .seconds(5)) {
                            onAnswer(answer.status, answer.header("Retry-After"))
                        } else {
                            onAnswer(-1, nil)
                        }
                    }
                }
            }
        }
    }
}
