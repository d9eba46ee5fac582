import AnalyticsCore
import ArgumentParser
import RedisClient

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
                while i + 1 < flat.count {
                    fields[flat[i].string ?? ""] = flat[i + 1]
                    i += 2
                }
                guard fields["name"]?.string == group else { continue }
                read = fields["entries-read"]?.int ?? 0
                pending = fields["pending"]?.int ?? -1
            }
            if read > 0 && firstSeen == nil { firstSeen = ContinuousClock.now }
            if read >= count && pending == 0 {
                let total = ContinuousClock.now - start
                let active = ContinuousClock.now - (firstSeen ?? start)
                print(
                    "group \(group) consumed \(count) entries in \(format(total)) from start "
                        + "(\(Int(Double(count) / seconds(total))) events/s; \(Int(Double(count) / seconds(active))) events/s once reading)"
                )
                await client.shutdown()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await client.shutdown()
        throw ValidationError("group \(group) did not drain within \(timeout) s")
    }
}
