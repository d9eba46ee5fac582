import AnalyticsCore
import ArgumentParser
import Foundation
import Logging
import RedisClient

/// Load generators and measurements behind `bench/*.sh`.
@main
struct AnalyticsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics-bench",
        abstract: "Benchmarks of the analytics service (run through bench/*.sh).",
        subcommands: [FillStream.self, WaitDrained.self, Freshness.self, BareServer.self, EventLoad.self, WebSocketLoad.self])
}

struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL") var redisURL = "redis://127.0.0.1:6379/0"
    @Option(help: "Key prefix") var keyPrefix = "analytics"

    func client(_ name: String) throws -> RedisClient {
        guard let url = RedisURL(redisURL) else { throw ValidationError("bad --redis-url") }
        let endpoint: RedisEndpoint
        switch url.location {
        case .tcp(let host, let port): endpoint = RedisEndpoint(location: .tcp(host: host, port: port), database: url.database, password: url.password)
        case .unixSocket(let path): endpoint = RedisEndpoint(location: .unixSocket(path: path), database: url.database, password: url.password)
        }
        var configuration = RedisClient.Configuration(endpoint: endpoint, name: name)
        configuration.commandTimeout = .seconds(30)
        configuration.queueTimeout = .seconds(60)
        return RedisClient(configuration: configuration, logger: Logger(label: "bench"))
    }

    var keyspace: RedisKeyspace { RedisKeyspace(prefix: keyPrefix) }
}

/// Pre-fills the stream with events as the gateway writes them (a backlog, as after an outage).
struct FillStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fill-stream")
    @OptionGroup var redis: RedisOptions
    @Option(help: "Events to add") var count = 1_000_000
    @Option(help: "Distinct visitors") var visitors = 100_000

    func run() async throws {
        let client = try redis.client("bench-fill")
        let ids = UUIDv7Generator()
        let visitorIDs = (0..<visitors).map { _ in UUID() }
        let start = ContinuousClock.now
        var sent = 0
        let pipeline = 1000
        // Two pipelines in flight keep Redis busy while the next one is built.
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            while sent < count {
                let n = min(pipeline, count - sent)
                var commands: [RedisCommand] = []
                commands.reserveCapacity(n)
                let now = EpochClock.milliseconds()
                for i in 0..<n {
                    let k = sent + i
                    let (type, data): (String, String) =
                        switch k % 20 {
                        case 0: ("cv_theme_view", #"{"theme":"theme-\#(k % 7)"}"#)
                        case 1: ("letter_generated", #"{"type":"motivation"}"#)
                        case 2...9: ("click", #"{"button":"cta","n":\#(k % 100)}"#)
                        default: ("pageview", #"{"path":"/page/\#(k % 50)","method":"GET","user_agent":"Mozilla/5.0 (X11; Linux x86_64) bench"}"#)
                        }
                    let event = AnalyticsEvent(
                        id: ids.next(nowMilliseconds: now), visitorID: visitorIDs[k % visitorIDs.count], eventType: type,
                        eventData: data, pageURL: "https://example.test/page/\(k % 50)", referrer: nil, createdAt: now)
                    var command = RedisCommand("XADD", redis.keyspace.stream, "*")
                    command.append(contentsOf: StreamEntryCodec.fields(of: event))
                    commands.append(command)
                }
                sent += n
                if inFlight >= 2 {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask {
                    let replies = try await client.pipeline(commands, timeout: .seconds(60))
                    if let error = replies.first(where: { $0.errorMessage != nil }) { throw RedisError.server("\(error)") }
                }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        print("filled \(count) events in \(format(elapsed)) (\(Int(Double(count) / seconds(elapsed))) events/s)")
        await client.shutdown()
    }
}

/// Waits until a consumer group has consumed and acknowledged `count` entries; prints the rate.
struct WaitDrained: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait-drained")
    @OptionGroup var redis: RedisOptions
    @Option(help: "Consumer group") var group = "aggregator"
    @Option(help: "Entries the group must have consumed") var count: Int
    @Option(help: "Give up after this many seconds") var timeout = 600

    func run() async throws {
        let client = try redis.client("bench-wait")
        let start = ContinuousClock.now
        var firstSeen: ContinuousClock.Instant?
        while ContinuousClock.now - start < .seconds(timeout) {
            let reply = try await client.send("XINFO", "GROUPS", redis.keyspace.stream)
            var read = 0
            var pending = -1
            for g in reply.array ?? [] {
                let flat = g.array ?? []
                var fields: [String: RedisValue] = [:]
                var i = 0
                while i + 1 < flat.count { fields[flat[i].string ?? ""] = flat[i + 1]; i += 2 }
                guard fields["name"]?.string == group else { continue }
                read = fields["entries-read"]?.int ?? 0
                pending = fields["pending"]?.int ?? -1
            }
            if read > 0 && firstSeen == nil { firstSeen = ContinuousClock.now }
            if read >= count && pending == 0 {
                let total = ContinuousClock.now - start
                let active = ContinuousClock.now - (firstSeen ?? start)
                print("group \(group) consumed \(count) entries in \(format(total)) from start "
                    + "(\(Int(Double(count) / seconds(total))) events/s; \(Int(Double(count) / seconds(active))) events/s once reading)")
                await client.shutdown()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await client.shutdown()
        throw ValidationError("group \(group) did not drain within \(timeout) s")
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func format(_ d: Duration) -> String {
    String(format: "%.2f s", seconds(d))
}
