import AnalyticsCore
import Foundation
import RedisClient
import ServiceSupport
import SupervisorKit
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real supervisor with the real workers, against throwaway Redis and PostgreSQL; the test
/// plays systemd's part on a notify socket of its own.
@Suite("Supervisor with the real workers")
struct SupervisorIntegrationTests {
    final class Stack: Sendable {
        let redis: RedisServer
        let postgres: PostgresServer
        let supervisor: ServiceProcess
        let systemd: NotifyListener
        let http: HTTPTestClient
        let admin: HTTPTestClient
        let ports: (http: Int, ws: Int, admin: Int)
        let client: RedisClient

        init(watchdogSeconds: Int = 10, systemdWatchdog: Duration = .seconds(4), extra: [String: String] = [:]) async throws {
            async let r = RedisServer()
            async let p = PostgresServer()
            redis = try await r
            postgres = try await p
            client = redis.client(name: "supervisor-test")
            systemd = try NotifyListener(directory: redis.directory)
            ports = (FreePort.next(), FreePort.block(2), FreePort.block(7))
            // Admin ports: the supervisor's, then one per worker above it; keep them clear.
            var environment = [
                "ANALYTICS_REDIS_URL": redis.url, "ANALYTICS_DATABASE_URL": postgres.url,
                "ANALYTICS_HTTP_PORT": String(ports.http), "ANALYTICS_WS_PORT": String(ports.ws),
                "ANALYTICS_ADMIN_PORT": String(ports.admin), "ANALYTICS_WSHUB_REPLICAS": "2",
                "ANALYTICS_WORKER_WATCHDOG_SEC": String(watchdogSeconds), "ANALYTICS_ARCHIVE_DIR": redis.directory.path + "/archive",
                "ANALYTICS_LOG_LEVEL": "info", "ANALYTICS_MIGRATIONS_DIR": Self.migrationsDirectory, "ANALYTICS_BOT_FILTER": "off",
                "NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": String(systemdWatchdog.inMicroseconds),
            ]
            environment.merge(extra) { $1 }
            supervisor = try ServiceProcess(.supervisor, environment: environment, directory: redis.directory.url)
            http = HTTPTestClient(port: ports.http)
            admin = HTTPTestClient(port: ports.admin)
        }

        static var migrationsDirectory: String {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("migrations").path
        }

        var pid: Int32 { supervisor.process?.pid ?? -1 }

        func waitUntilReady(timeout: Duration = .seconds(60)) async -> Bool {
            await eventually(timeout: timeout) { (try? await self.admin.get("/healthz"))?.status == 200 }
        }

        func worker(_ prefix: String) -> ProcessTree.Entry? { ProcessTree.child(of: pid, named: prefix) }

        func metrics() async throws -> String { try await admin.get("/metrics").body }

        func shutdown() async {
            await supervisor.stop()
            await client.shutdown()
        }
    }

    @Test func readyWatchdogStatusAndStoppingReachSystemd() async throws {
        let stack = try await Stack()
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        #expect(await eventually { stack.systemd.received.contains { $0["READY"] == "1" } })
        // READY only once every worker is: all five are running by then.
        for prefix in ["analytics-gatew", "analytics-aggre", "analytics-archi", "analytics-wshub"] {
            #expect(stack.worker(prefix) != nil, "\(prefix)")
        }
        #expect(ProcessTree.children(of: stack.pid).filter { $0.name.hasPrefix("analytics-wshub") }.count == 2)
        // Watchdog pings at about half of WATCHDOG_USEC (4 s), while healthy.
        let pingsBefore = stack.systemd.received.filter { $0["WATCHDOG"] == "1" }.count
        try await Task.sleep(for: .seconds(5))
        let pings = stack.systemd.received.filter { $0["WATCHDOG"] == "1" }.count - pingsBefore
        #expect(pings >= 2 && pings <= 6, "\(pings) pings in 5 s")
        #expect(stack.systemd.received.contains { $0["STATUS"]?.contains("5/5 workers ready") == true })
        let check = try promtoolCheck(try await stack.metrics())
        #expect(check.status == 0, "\(check.output)")
        // The workers talk to the supervisor, never to systemd directly.
        #expect(Set(stack.systemd.senders) == [stack.pid])
        #expect(await stack.supervisor.stop() == 0)
        #expect(stack.systemd.received.contains { $0["STOPPING"] == "1" })
        #expect(ProcessTree.children(of: stack.pid).isEmpty)
    }

    @Test func everyKindOfWorkerIsReplacedAfterAKill() async throws {
        let stack = try await Stack()
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        for (prefix, label) in [
            ("analytics-gatew", "gateway"), ("analytics-aggre", "aggregator"), ("analytics-archi", "archiver"),
            ("analytics-wshub", "wshub-0"),
        ] {
            let victim = try #require(stack.worker(prefix))
            kill(victim.pid, SIGKILL)
            #expect(
                await eventually(timeout: .seconds(20)) {
                    guard let replacement = stack.worker(prefix), replacement.pid != victim.pid else { return false }
                    return (try? await stack.admin.get("/healthz"))?.status == 200
                }, "\(label) not replaced")
        }
        // Serving again: an event goes through to PostgreSQL and the counters.
        #expect(try await stack.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#).status == 201)
        #expect(await eventually(timeout: .seconds(15)) { (try? stack.postgres.psql("SELECT count(*) FROM analytics_events")) == "1" })
        let metrics = try await stack.metrics()
        #expect(metrics.contains(#"analytics_supervisor_worker_exits_total{worker="gateway",reason="crashed"} 1"#))
        #expect(metrics.contains(#"analytics_supervisor_worker_exits_total{worker="archiver",reason="crashed"} 1"#))
    }

    @Test func aGatewayKilledSixTimesInAMinuteAfterBecomingReadyIsAlwaysRestarted() async throws {
        let stack = try await Stack()
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        // More kills than the restart intensity allows (5 in 60 s) for a worker that fails to start:
        // each one after the gateway said it was ready and ran its 2 s.
        for kill in 1...6 {
            let victim = try #require(stack.worker("analytics-gatew"))
            try await Task.sleep(for: .milliseconds(2200))
            Glibc.kill(victim.pid, SIGKILL)
            #expect(
                await eventually(timeout: .seconds(20)) {
                    guard let replacement = stack.worker("analytics-gatew"), replacement.pid != victim.pid else { return false }
                    return (try? await stack.admin.get("/healthz"))?.status == 200
                }, "gateway not replaced after kill \(kill)")
        }
        #expect(stack.supervisor.process?.isRunning == true)
        #expect(!stack.supervisor.output.contains("restarted too often"))
        #expect(try await stack.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#).status == 201)
        let metrics = try await stack.metrics()
        #expect(metrics.contains(#"analytics_supervisor_worker_exits_total{worker="gateway",reason="crashed"} 6"#))
    }

    @Test func aStoppedWorkerIsKilledAndReplacedWithinItsWatchdog() async throws {
        let stack = try await Stack(watchdogSeconds: 3)
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        let victim = try #require(stack.worker("analytics-aggre"))
        kill(victim.pid, SIGSTOP)
        let stopped = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(10)) { stack.worker("analytics-aggre").map { $0.pid != victim.pid } ?? false })
        #expect(ContinuousClock.now - stopped < .seconds(5), "replaced within the 3 s watchdog (plus a tick)")
        #expect(
            await eventually {
                (try? await stack.metrics())?.contains(#"analytics_supervisor_worker_exits_total{worker="aggregator",reason="watchdog"} 1"#)
                    == true
            })
        #expect(await stack.waitUntilReady())
        // While a worker was not healthy, systemd got no watchdog ping for it: the pings resume after.
        #expect(await eventually(timeout: .seconds(6)) { stack.systemd.received.suffix(3).contains { $0["WATCHDOG"] == "1" } })
    }

    /// PostgreSQL down while events arrive: the archiver's batches wait in PostgresNIO's pool, which
    /// holds them until its circuit breaker trips, longer than the watchdog. Waiting for the database
    /// is the archiver's work: it must not be killed for it, and it catches up afterwards.
    @Test func anArchiverWaitingForPostgreSQLIsNotKilledByItsWatchdog() async throws {
        let stack = try await Stack(watchdogSeconds: 3)
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        let archiver = try #require(stack.worker("analytics-archi"))
        await stack.postgres.stop()
        var accepted = 0
        for _ in 0..<20 {
            if let answer = try? await stack.http.post("/api/analytics/event", body: #"{"event_type":"click"}"#, timeout: .seconds(5)),
                answer.status == 201
            {
                accepted += 1
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(accepted == 20, "the gateway does not depend on PostgreSQL")
        #expect(stack.worker("analytics-archi")?.pid == archiver.pid, "not replaced while waiting 10 s on a 3 s watchdog")
        let exits = try await stack.metrics()
        #expect(!exits.contains(#"{worker="archiver",reason="watchdog"} "#) || exits.contains(#"{worker="archiver",reason="watchdog"} 0"#))
        try await stack.postgres.start()
        #expect(
            await eventually(timeout: .seconds(60)) {
                (try? stack.postgres.psql("SELECT count(*) FROM analytics_events")) == String(accepted)
            })
    }

    /// A supervisor killed outright cannot stop its workers: they notice and drain by themselves,
    /// instead of living on unsupervised with the ports its next start needs.
    @Test func workersStopWhenTheirSupervisorIsKilled() async throws {
        let stack = try await Stack()
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        let workers = ProcessTree.children(of: stack.pid).map(\.pid)
        #expect(workers.count == 5)
        kill(stack.pid, SIGKILL)
        // Orphans belong to init now, which may leave them as zombies: those count as gone.
        func living() -> [Int32] { ProcessTree.all().filter { workers.contains($0.pid) && $0.state != "Z" }.map(\.pid) }
        #expect(await eventually(timeout: .seconds(30)) { living().isEmpty }, "still running: \(living())")
    }

    @Test func aCrashLoopMakesTheSupervisorGiveUpAndExitNonZero() async throws {
        // The gateway's port is taken: it can never start.
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        let port = FreePort.next()
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blocker, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(blocker, 1)
        let stack = try await Stack(extra: ["ANALYTICS_HTTP_PORT": String(port)])
        defer { Task { await stack.shutdown() } }
        let supervisorPID = stack.pid
        let status = await stack.supervisor.process?.waitForExit(timeout: .seconds(90))
        #expect(status != nil && status != 0, "exit status \(String(describing: status))")
        #expect(ProcessTree.children(of: supervisorPID).isEmpty)
        #expect(stack.systemd.received.contains { $0["STOPPING"] == "1" })
        #expect(stack.supervisor.output.contains("restarted too often"))
    }

    @Test func sigtermUnderLoadStoresEveryAcceptedEventAndLeavesNoProcess() async throws {
        let stack = try await Stack()
        defer { Task { await stack.shutdown() } }
        #expect(await stack.waitUntilReady())
        let accepted = Locked(0)
        let stop = Locked(false)
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while !stop.value {
                            if let answer = try? await stack.http.post(
                                "/api/analytics/event", body: #"{"event_type":"click"}"#, timeout: .seconds(5)),
                                answer.status == 201
                            {
                                accepted.withLock { $0 += 1 }
                            }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .seconds(2))
        let supervisorPID = stack.pid
        let workers = ProcessTree.children(of: supervisorPID).map(\.pid)
        #expect(workers.count == 5)
        // Without systemd's RuntimeDirectory= the notify socket lives in a directory of its own.
        let runtimeDirectory = NSTemporaryDirectory() + "analytics-supervisor-\(supervisorPID)"
        #expect(FileManager.default.fileExists(atPath: runtimeDirectory + "/notify.sock"))
        let stopped = ContinuousClock.now
        let status = await stack.supervisor.stop()
        stop.withLock { $0 = true }
        await load.value
        #expect(status == 0)
        #expect(ContinuousClock.now - stopped < .seconds(30))
        #expect(workers.allSatisfy { kill($0, 0) != 0 }, "no worker left behind")
        #expect(!FileManager.default.fileExists(atPath: runtimeDirectory), "no directory left behind")
        let expected = accepted.value
        #expect(expected > 100)
        #expect(try stack.postgres.psql("SELECT count(*) FROM analytics_events") == String(expected))
    }
}

/// A notify socket owned by the test, standing in for systemd.
final class NotifyListener: Sendable {
    let path: String
    private let socket: Locked<NotifySocketBox>
    private let messages = Locked<[NotifySocket.Message]>([])
    private let task: Task<Void, Never>

    final class NotifySocketBox: @unchecked Sendable {
        // Only the listener's task reads from it.
        let socket: NotifySocket
        init(_ socket: NotifySocket) { self.socket = socket }
    }

    init(directory: TemporaryDirectory) throws {
        path = directory.path + "/systemd-notify.sock"
        let box = NotifySocketBox(try NotifySocket(path: path))
        socket = Locked(box)
        let messages = self.messages
        task = Task {
            while !Task.isCancelled {
                let received = box.socket.receiveAll()
                if !received.isEmpty { messages.withLock { $0 += received } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    var received: [[String: String]] { messages.value.map(\.assignments) }
    var senders: [Int32] { messages.value.map(\.pid) }

    deinit { task.cancel() }
}
