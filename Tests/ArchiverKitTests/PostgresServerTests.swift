import Foundation
import TestSupport
import Testing

/// The throwaway PostgreSQL of the tests works as the archiver's tests expect: it starts, keeps its
/// data across a restart, survives a crash, and leaves nothing behind.
@Suite("PostgresServer (test support)")
struct PostgresServerTests {
    @Test func startsKeepsDataAcrossARestartAndCrash() async throws {
        let server = try await PostgresServer()
        #expect(server.url == "postgres://postgres@127.0.0.1:\(server.port)/analytics")
        #expect(try server.psql("SELECT 1") == "1")
        #expect(try server.psql("SELECT current_database()") == "analytics")

        try server.psql("CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        #expect(try server.psql("SELECT id, name FROM t ORDER BY id") == "1|a\n2|b")

        await server.stop()
        #expect(throws: (any Error).self) { try server.psql("SELECT 1") }
        #expect(Self.processes(in: server.dataDirectory).isEmpty)

        try await server.start()
        #expect(try server.psql("SELECT count(*) FROM t") == "2")

        let running = Self.processes(in: server.dataDirectory)
        #expect(running.count > 1, "the postmaster and its children")
        await server.kill()
        #expect(Self.processes(in: server.dataDirectory).isEmpty)
        #expect(throws: (any Error).self) { try server.psql("SELECT 1") }

        // Crash recovery: what was checkpointed at the clean shutdown is there.
        try await server.start()
        #expect(try server.psql("SELECT count(*) FROM t") == "2")
        await server.kill()
    }

    @Test func withSynchronousCommitEveryCommitSurvivesAKill() async throws {
        let server = try await PostgresServer(settings: ["synchronous_commit": "on"])
        try server.psql("CREATE TABLE t (id int)")
        for id in 1...20 { try server.psql("INSERT INTO t VALUES (\(id))") }
        await server.kill()
        try await server.start()
        #expect(try server.psql("SELECT count(*) FROM t") == "20")
    }

    @Test func psqlThrowsWithTheServersMessage() async throws {
        let server = try await PostgresServer()
        let error = #expect(throws: (any Error).self) { try server.psql("SELECT * FROM missing") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("relation \"missing\" does not exist"))
        // ON_ERROR_STOP: nothing after the failing statement runs.
        #expect(throws: (any Error).self) { try server.psql("CREATE TABLE a (x int); SELECT 1/0; CREATE TABLE b (x int)") }
        #expect(try server.psql("SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')") == "0")
    }

    @Test func concurrentServersAreIndependentAndTakeSettings() async throws {
        async let first = PostgresServer(settings: ["work_mem": "7MB"])
        async let second = PostgresServer()
        let (a, b) = try await (first, second)
        #expect(a.port != b.port)
        #expect(a.directory.path != b.directory.path)
        #expect(try a.psql("SHOW work_mem") == "7MB")
        #expect(try b.psql("SHOW work_mem") == "4MB")
        #expect(try a.psql("SHOW fsync") == "off")
        try a.psql("CREATE TABLE only_in_a (x int)")
        #expect(try b.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'") == "0")
    }

    @Test func releasingTheServerKillsItAndRemovesItsDirectory() async throws {
        var server: PostgresServer? = try await PostgresServer()
        let path = server!.directory.path
        let data = server!.dataDirectory
        #expect(!Self.processes(in: data).isEmpty)
        server = nil
        #expect(await eventually { Self.processes(in: data).isEmpty })
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// PostgreSQL's processes all work in the data directory: the ones whose cwd is `data`.
    static func processes(in data: String) -> [Int32] {
        let resolved = URL(fileURLWithPath: data).resolvingSymlinksInPath().path
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry),
                let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                cwd == data || cwd == resolved
            else { return nil }
            // A zombie has no cwd to read; anything listed here is alive.
            return pid
        }
    }
}
