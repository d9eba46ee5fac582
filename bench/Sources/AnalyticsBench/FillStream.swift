import AnalyticsCore
import ArgumentParser
import Foundation
import RedisClient

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
                        default:
                            (
                                "pageview",
                                #"{"path":"/page/\#(k % 50)","method":"GET","user_agent":"Mozilla/5.0 (X11; Linux x86_64) bench"}"#
                            )
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
