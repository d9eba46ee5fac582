import AnalyticsCore
import Foundation
import Logging
import RedisClient
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("RedisClient against a real Redis")
struct RedisClientTests {
    @Test func commandsRepliesAndErrors() async throws {
        let server = try await RedisServer()
        let client = server.client()
        defer { Task { await client.shutdown() } }

        #expect(try await client.send("PING") == .status("PONG"))
        #expect(try await client.send("SET", "k", "v") == .status("OK"))
        #expect(try await client.send("GET", "k").string == "v")
        #expect(try await client.send("GET", "missing").isNull)
        #expect(try await client.send("INCRBY", "n", "5").int == 5)
        #expect(try await client.send("LRANGE", "empty", "0", "-1") == .array([]))
        await #expect(throws: RedisError.self) { try await client.send("INCR", "k") }

        // Binary-safe arguments and replies.
        var set = RedisCommand("SET", "bin")
        set.append([0, 1, 2, 0xFF, 0x0D, 0x0A] as [UInt8])
        try await client.send(set)
        #expect(try await client.send("GET", "bin") == .bulk([0, 1, 2, 0xFF, 0x0D, 0x0A]))

        // A pipeline returns error replies in place; the other commands ran.
        let replies = try await client.pipeline([RedisCommand("INCR", "k"), RedisCommand("INCR", "n")])
        #expect(replies[0].errorMessage != nil)
        #expect(replies[1].int == 6)
    }

    @Test func concurrentCallersShareRoundTrips() async throws {
        let server = try await RedisServer()
        let client = server.client()
        defer { Task { await client.shutdown() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<2000 {
                group.addTask { try await client.send("RPUSH", "list", String(i)) }
            }
            try await group.waitForAll()
        }
        #expect(try await client.send("LLEN", "list").int == 2000)
        // Far fewer round trips than commands: read the server's own statistics.
        let info = try await client.send("INFO", "stats").string ?? ""
        #expect(info.contains("total_commands_processed"))
    }

    @Test func selectsTheDatabaseOfTheEndpoint() async throws {
        let server = try await RedisServer()
        var configuration = RedisClient.Configuration(endpoint: .tcp(port: server.port, database: 3), name: "db3")
        configuration.commandTimeout = .seconds(5)
        let db3 = RedisClient(configuration: configuration, logger: Logger(label: "t"))
        let db0 = server.client()
        defer {
            Task {
                await db3.shutdown()
                await db0.shutdown()
            }
        }
        try await db3.send("SET", "where", "three")
        #expect(try await db0.send("GET", "where").isNull)
        #expect(try await db3.send("GET", "where").string == "three")
    }

    /// The callback form (used by the gateway's event route on NIO's threads) gets exactly what
    /// the async form returns or throws, once.
    @Test func replyHandlersGetTheRepliesOrTheError() async throws {
        let server = try await RedisServer()
        let client = server.client()
        defer { Task { await client.shutdown() } }
        func pipeline(_ commands: [RedisCommand]) async -> Result<[RedisValue], any Error> {
            await withCheckedContinuation { continuation in
                client.pipeline(commands) { continuation.resume(returning: $0) }
            }
        }
        let replies = try await pipeline([RedisCommand("SET", "k", "v"), RedisCommand("INCR", "k"), RedisCommand("GET", "k")]).get()
        #expect(replies[0] == .status("OK"))
        #expect(replies[1].errorMessage != nil)
        #expect(replies[2].string == "v")

        await server.stop()
        let down = await pipeline([RedisCommand("GET", "k")])
        #expect(throws: RedisError.self) { try down.get() }

        await client.shutdown()
        let shutDown = await pipeline([RedisCommand("GET", "k")])
        #expect(throws: RedisError.shutdown) { try shutDown.get() }
    }

    @Test func failsFastWhileRedisIsDownAndRecoversWhenItReturns() async throws {
        let server = try await RedisServer()
        var configuration = RedisClient.Configuration(endpoint: server.endpoint, name: "outage")
        // Timeouts far above the bound below: a failure that waited for one would be seen.
        configuration.commandTimeout = .seconds(8)
        configuration.queueTimeout = .seconds(8)
        let client = RedisClient(configuration: configuration, logger: Logger(label: "t"))
        defer { Task { await client.shutdown() } }
        try await client.send("SET", "a", "1")

        await server.stop()
        for _ in 0..<20 {
            // Refused connections fail at once; the bound leaves room for a loaded test machine.
            let start = ContinuousClock.now
            await #expect(throws: RedisError.self) { try await client.send("GET", "a") }
            #expect(ContinuousClock.now - start < .seconds(4), "a failure must not wait for a timeout")
        }
        #expect(client.isConnected == false)

        try await server.start()
        let recovered = await eventually(timeout: .seconds(5)) { (try? await client.send("PING")) == .status("PONG") }
        #expect(recovered)
    }

    @Test func answersWithinTheDeadlineWhenRedisHangs() async throws {
        let server = try await RedisServer()
        var configuration = RedisClient.Configuration(endpoint: server.endpoint, name: "hang")
        configuration.commandTimeout = .seconds(3)
        configuration.queueTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: Logger(label: "t"))
        defer { Task { await client.shutdown() } }
        try await client.send("PING")
        let pid = try #require(
            Int32(
                String(
                    try await client.send("INFO", "server").string?
                        .split(separator: "\r\n").first { $0.hasPrefix("process_id:") }?.dropFirst("process_id:".count) ?? "")))

        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        try await client.send("PING")
                        Issue.record("a hung Redis cannot answer")
                    } catch let error as RedisError {
                        #expect(error == .timedOut || { if case .connectionLost = error { true } else { false } }())
                    } catch {
                        Issue.record("unexpected \(error)")
                    }
                }
            }
        }
        // Well before the 3 s socket timeout: the 0.5 s deadline answered them (with room for a
        // loaded test machine).
        #expect(ContinuousClock.now - start < .seconds(2))
        kill(pid, SIGCONT)
        let recovered = await eventually(timeout: .seconds(10)) { (try? await client.send("PING")) == .status("PONG") }
        #expect(recovered)
    }

    @Test func scriptsAreReloadedAfterAFlush() async throws {
        let server = try await RedisServer()
        let client = server.client()
        defer { Task { await client.shutdown() } }
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try await script.run(on: client, keys: ["c"], arguments: ["2"]).int == 2)
        try await client.send("SCRIPT", "FLUSH")
        #expect(try await script.run(on: client, keys: ["c"], arguments: ["3"]).int == 5)
    }

    @Test func readsStreamEntriesIncludingTrimmedPendingOnes() async throws {
        let server = try await RedisServer()
        let client = server.client()
        defer { Task { await client.shutdown() } }
        try await client.send("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM")
        let id1 = try #require(try await client.send("XADD", "s", "*", "a", "1", "b", "two").string)
        _ = try await client.send("XADD", "s", "*", "a", "3")
        let read = try RedisStreamEntry.fromRead(
            try await client.send("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s", ">"))
        #expect(read.count == 2)
        #expect(read[0].id == id1)
        #expect(read[0].fields?.map(\.0) == ["a", "b"])
        #expect(read[0].fields?.map(\.1) == ["1", "two"])
        // Trim everything: the pending entries come back with no fields.
        try await client.send("XTRIM", "s", "MAXLEN", "0")
        let pending = try RedisStreamEntry.fromRead(
            try await client.send("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s", "0"))
        #expect(pending.count == 2)
        #expect(pending.allSatisfy { $0.fields == nil })
        #expect(try RedisStreamEntry.fromRead(.null).isEmpty)
        #expect(StreamID("5-1")! < StreamID("5-2")!)
        #expect(StreamID("5-9")! < StreamID("6-0")!)
        #expect(StreamID("7") == StreamID(milliseconds: 7, sequence: 0))
        for malformed in ["", "-", "--", "5-", "-5", "a-1", "5-b"] { #expect(StreamID(malformed) == nil, "\(malformed)") }
    }
}
