import AnalyticsCore
import ArgumentParser
import Foundation
import Synchronization

/// The gateway's bot filter: what building a `CrawlerMatcher` costs, and `isCrawler` per call over a
/// mix of browser user agents (`--crawler-percent` crawlers), then browsers alone and crawlers alone.
/// Prints wall-clock and CPU time per call (the CPU time is steadier on a busy machine).
struct BotFilter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot-filter", abstract: "Times the crawler user-agent matcher: its construction and isCrawler per call.")
    @Option(help: "isCrawler calls per measurement") var calls = 5_000_000
    @Option(help: "Share of crawler user agents in the mix, in percent") var crawlerPercent = 5
    @Option(help: "Matchers built to time the construction") var builds = 20
    @Option(help: "Threads calling one shared matcher at once (the mix is timed on each)") var threads = 1

    func run() throws {
        guard (0...100).contains(crawlerPercent), calls > 0, builds > 0, threads > 0 else {
            throw ValidationError("--crawler-percent 0–100, positive --calls, --builds and --threads")
        }
        var matcher = CrawlerMatcher()
        let buildStart = Self.now()
        for _ in 0..<builds { matcher = CrawlerMatcher() }
        let buildTime = Self.elapsed(since: buildStart)
        print(
            "matcher: \(matcher.patternCount) patterns, \(matcher.regexConfirmedCount) confirmed by regex, "
                + "\(matcher.regexOnlyCount) regex-only; built in \(Self.milliseconds(buildTime.wall / builds)) ms "
                + "(CPU \(Self.milliseconds(buildTime.cpu / builds)) ms), average of \(builds)")

        for userAgent in Self.browsers where matcher.isCrawler(userAgent) { print("warning: browser flagged: \(userAgent)") }
        for userAgent in Self.crawlers where !matcher.isCrawler(userAgent) { print("warning: crawler missed: \(userAgent)") }

        // The mix: a fixed random sequence of user agents, long enough that the branch predictor
        // cannot learn it.
        var random = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
        let mix = (0..<(1 << 16)).map { _ in
            Int.random(in: 0..<100, using: &random) < crawlerPercent
                ? Self.crawlers.randomElement(using: &random)! : Self.browsers.randomElement(using: &random)!
        }
        let averageLength = Self.browsers.map(\.utf8.count).reduce(0, +) / Self.browsers.count
        print("browser user agents: \(Self.browsers.count), \(averageLength) bytes on average; crawlers: \(Self.crawlers.count)")

        if threads == 1 {
            report("mix, \(crawlerPercent) % crawlers", time(matcher, mix))
        } else {
            let results = Mutex<[(wall: Double, cpu: Double, flagged: Int)]>([])
            let shared = matcher
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                let result = time(shared, mix)
                results.withLock { $0.append(result) }
            }
            for (index, result) in results.withLock({ $0 }).enumerated() {
                report("mix, \(crawlerPercent) % crawlers, thread \(index + 1) of \(threads)", result)
            }
        }
        report("browsers only", time(matcher, Self.browsers))
        report("crawlers only", time(matcher, Self.crawlers))
    }

    /// `calls` calls of `isCrawler` over `userAgents` in turn: ns per call, and how many were flagged.
    private func time(_ matcher: CrawlerMatcher, _ userAgents: [String]) -> (wall: Double, cpu: Double, flagged: Int) {
        var flagged = 0
        var index = 0
        let start = Self.now()
        for _ in 0..<calls {
            if matcher.isCrawler(userAgents[index]) { flagged += 1 }
            index += 1
            if index == userAgents.count { index = 0 }
        }
        let elapsed = Self.elapsed(since: start)
        return (Double(elapsed.wall) / Double(calls), Double(elapsed.cpu) / Double(calls), flagged)
    }

    private func report(_ label: String, _ result: (wall: Double, cpu: Double, flagged: Int)) {
        let share = Double(result.flagged) * 100 / Double(calls)
        print(
            "\(label): \(String(format: "%.0f", result.wall)) ns per call (CPU \(String(format: "%.0f", result.cpu)) ns), "
                + "\(calls) calls, \(String(format: "%.1f", share)) % flagged")
    }

    /// Wall-clock and this thread's CPU time, in ns.
    private static func now() -> (wall: Int, cpu: Int) {
        var cpu = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu)
        return (Int(monotonicNanoseconds()), cpu.tv_sec * 1_000_000_000 + cpu.tv_nsec)
    }

    private static func elapsed(since start: (wall: Int, cpu: Int)) -> (wall: Int, cpu: Int) {
        let end = now()
        return (end.wall - start.wall, end.cpu - start.cpu)
    }

    private static func milliseconds(_ nanoseconds: Int) -> String {
        String(format: "%.1f", Double(nanoseconds) / 1e6)
    }

    /// Browsers as they come: Chrome, Safari, Firefox, Edge, Opera, Samsung Internet, Silk, Yandex, in-app
    /// browsers (a sample of Tests/AnalyticsCoreTests/BrowserUserAgents.swift).
    private static let browsers = [
        "Mozilla/5.0 (iPad; CPU OS 16_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/135.0.7049.83 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/135.0.7049.83 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/107.0.5304.66 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/135.0.7049.53 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1 Ddg/17.3",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/362.0.741018905 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/358.1.731895952 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.2 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/103.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 12; SM-A125U) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.120 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
        "Mozilla/5.0 (iPad; CPU OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/134.0.3124.95 Version/18.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:134.0) Gecko/20100101 Firefox/134.0",
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/134.1.82 like Chrome/134.0.6998.135 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/135.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22D82 Twitter for iPhone/10.90",
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/135.0.0.0 Mobile DuckDuckGo/5 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22D82 Instagram 375.2.0.33.77 (iPhone16,1; iOS 18_3_2; en_US; en; scale=3.00; 1179x2556; 719346134)",
        "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-T870) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/20.0 Chrome/106.0.5249.126 Safari/537.36",
        "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36 Edg/109.0.1518.140",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
        "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.5615.136 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.10.1.2-gn",
        "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 15; CPH2557 Build/AP3A.240617.008; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.135 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; 23129RAA4G Build/UKQ1.231003.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 trill_370105 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/37.1.5 ByteLocale/en ByteFullLocale/en Region/US AppId/1180 Spark/1.6.3.6-bugfix AppVersion/37.1.5 BytedanceWebview/d8a21c6",
        "Mozilla/5.0 (Linux; Android 13; V2207 Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
        "Mozilla/5.0 (Linux; Android 9; Redmi Note 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36",
    ]

    /// Common crawlers, scripts and link previewers (from the upstream examples).
    private static let crawlers = [
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Safari/537.36",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/103.0.5060.134 Safari/537.36",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "curl/7.65.3",
        "python-requests/2.22.0",
        "Go-http-client/2.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/76.0.3803.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 8_1 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Version/8.0 Mobile/12B410 Safari/600.1.4 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        "Mozilla/5.0 (compatible; Baiduspider-render/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Slackbot 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "WhatsApp/2.19.330 A",
        "Mozilla/5.0 (Linux; Android 8.0; Pixel 2 Build/OPD3.170816.012) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.9038.1080 Mobile Safari/537.36; Bytespider",
        "Mozilla/5.0 (compatible; SeznamBot/4.0; +http://napoveda.seznam.cz/seznambot-intro/)",
        "Scrapy/1.0.3 (+http://scrapy.org)",
        "axios/0.19.0",
        "okhttp/4.1.0",
    ]
}
