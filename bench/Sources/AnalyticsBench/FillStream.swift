import AnalyticsCore
import ArgumentParser
import Foundation
import RedisClient

/// Pre-fills the stream with events as the gateway writes them (a backlog, as after an outage), with
/// dimensions drawn as a site's traffic spreads them: a few pages and sources take most visits, a long
/// tail the rest (the mix of `bench/history.sh`), so that the archiver's rollups meet as many distinct
/// values per batch as they would in production.
struct FillStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fill-stream")
    @OptionGroup var redis: RedisOptions
    @Option(help: "Events to add") var count = 1_000_000
    @Option(help: "Distinct visitors") var visitors = 100_000

    func run() async throws {
        let client = try redis.client("bench-fill")
        let ids = UUIDv7Generator()
        let visitorIDs = (0..<visitors).map { _ in UUID() }
        var random = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
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
                        default: ("pageview", #"{"path":"/page/\#(k % 50)","method":"GET"}"#)
                        }
                    let event = AnalyticsEvent(
                        id: ids.next(nowMilliseconds: now), visitorID: visitorIDs[k % visitorIDs.count], eventType: type,
                        eventData: data, pageURL: "https://example.test/page/\(k % 50)", referrer: nil, createdAt: now,
                        dimensions: Self.dimensions(using: &random))
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

    static let sources = [
        "Google", "Bing", "DuckDuckGo", "Hacker News", "Reddit", "X", "LinkedIn", "GitHub", "Facebook", "news.example.org",
        "blog.example.com", "Ecosia",
    ]
    static let campaigns = [
        ["newsletter", "email", "winter"], ["twitter", "social", "launch"], ["google", "cpc", "brand"], ["partner", "referral", "spring"],
    ]
    static let browsers = ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera", "Android WebView", "Instagram"]
    static let systems = ["Windows", "iOS", "Android", "macOS", "Linux", "ChromeOS"]
    static let devices = ["desktop", "mobile", "tablet"]
    static let countries = ["US", "DE", "FR", "GB", "IN", "CA", "NL", "BR", "JP", "ES", "IT", "PL", "SE", "AU", "CH", ""]

    /// An element of `values`, the first ones more often: index `count × u^skew` for a uniform `u`.
    static func pick<T>(_ values: [T], skew: Double, using random: inout Xoshiro256StarStar) -> T {
        values[min(values.count - 1, Int(Double(values.count) * pow(Double.random(in: 0..<1, using: &random), skew)))]
    }

    static func dimensions(using random: inout Xoshiro256StarStar) -> EventDimensions {
        var dimensions = EventDimensions()
        dimensions.host = "example.test"
        dimensions.path =
            Double.random(in: 0..<1, using: &random) < 0.15 ? "/" : "/page/\(Int(500 * pow(Double.random(in: 0..<1, using: &random), 3)))"
        dimensions.referrerSource = Double.random(in: 0..<1, using: &random) < 0.45 ? "" : pick(sources, skew: 2, using: &random)
        if Double.random(in: 0..<1, using: &random) >= 0.85 {
            let campaign = pick(campaigns, skew: 1, using: &random)
            (dimensions.utmSource, dimensions.utmMedium, dimensions.utmCampaign) = (campaign[0], campaign[1], campaign[2])
        }
        dimensions.browser = pick(browsers, skew: 2, using: &random)
        dimensions.browserVersion = "\(dimensions.browser) \(100 + Int.random(in: 0..<40, using: &random))"
        dimensions.os = pick(systems, skew: 1.5, using: &random)
        dimensions.device = pick(devices, skew: 1.7, using: &random)
        dimensions.country = pick(countries, skew: 2, using: &random)
        return dimensions
    }
}
