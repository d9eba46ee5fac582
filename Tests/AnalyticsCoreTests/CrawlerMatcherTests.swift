import AnalyticsCore
import Foundation
import Testing

@Suite("CrawlerMatcher")
struct CrawlerMatcherTests {
    private static let matcher = CrawlerMatcher()

    private func build(_ patterns: [String]) throws -> CrawlerMatcher {
        try CrawlerMatcher(patterns: patterns)
    }

    // MARK: the vendored patterns

    @Test func everyVendoredPatternCompilesAndAllButAFewAreFoundThroughARequiredString() throws {
        let matcher = try CrawlerMatcher(patterns: CrawlerPatterns.patterns)
        #expect(matcher.patternCount == CrawlerPatterns.patterns.count)
        #expect(matcher.patternCount > 1000)
        #expect(matcher.regexOnlyCount == 0)
        #expect(matcher.regexConfirmedCount < 50)
    }

    @Test func everyUpstreamExampleIsRecognisedAsACrawler() {
        let vendored = Set(CrawlerPatterns.patterns)
        var missed: [String] = []
        var checked = 0
        for example in CrawlerExamples.all where vendored.contains(example.pattern) {
            checked += 1
            if !Self.matcher.isCrawler(example.userAgent) { missed.append("\(example.pattern): \(example.userAgent)") }
        }
        #expect(checked > 2000)
        #expect(missed.isEmpty, "not recognised:\n\(missed.joined(separator: "\n"))")
    }

    @Test func theExamplesOfThePatternsLeftOutAreBrowsersAndAreNotFlagged() {
        let vendored = Set(CrawlerPatterns.patterns)
        for example in CrawlerExamples.all where !vendored.contains(example.pattern) {
            #expect(Self.matcher.verdict(example.userAgent) == .browser, "\(example.pattern): \(example.userAgent)")
        }
    }

    @Test func noBrowserOfTheCorpusIsFlagged() {
        #expect(BrowserUserAgents.all.count >= 200)
        for userAgent in BrowserUserAgents.all {
            #expect(Self.matcher.verdict(userAgent) == .browser, "\(userAgent)")
        }
    }

    /// The prefilter must neither miss nor add a match: the verdict is what the patterns' regular
    /// expressions say, on the browsers, the crawlers, and a sample of the crawlers written in other
    /// cases (the patterns are case-sensitive).
    @Test func theVerdictIsAlwaysWhatThePatternsRegularExpressionsSay() throws {
        var regexes: [String: NSRegularExpression] = [:]
        for pattern in CrawlerPatterns.patterns { regexes[pattern] = try NSRegularExpression(pattern: pattern) }
        func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
            regex.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
        }
        let crawlers = CrawlerExamples.all.map(\.userAgent)
        let sample = stride(from: 0, to: crawlers.count, by: 8).map { crawlers[$0] }
        let corpus = BrowserUserAgents.all + crawlers + sample.map { $0.lowercased() } + sample.map { $0.uppercased() }
        var disagreements: [String] = []
        for userAgent in corpus {
            switch Self.matcher.verdict(userAgent) {
            case .crawler(let pattern):
                if !matches(regexes[pattern]!, userAgent) { disagreements.append("wrongly flagged by \(pattern): \(userAgent)") }
            case .browser:
                if let missed = regexes.first(where: { matches($0.value, userAgent) }) {
                    disagreements.append("missed \(missed.key): \(userAgent)")
                }
            case .missingUserAgent:
                disagreements.append("missing: \(userAgent)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
    }

    // MARK: missing user agents

    @Test(arguments: ["", " ", "\t", "  \r\n ", "\u{00A0}", " \u{2003} "])
    func anEmptyOrWhitespaceUserAgentIsABot(userAgent: String) {
        #expect(Self.matcher.verdict(userAgent) == .missingUserAgent)
        #expect(Self.matcher.isCrawler(userAgent))
    }

    @Test func aBrowserIsNotABotAndACrawlerVerdictNamesItsPattern() throws {
        #expect(!Self.matcher.isCrawler("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"))
        #expect(!BotVerdict.browser.isBot)
        let matcher = try build([#"Googlebot\/"#, "bingbot"])
        #expect(
            matcher.verdict("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
                == .crawler(pattern: #"Googlebot\/"#))
        #expect(matcher.verdict("Mozilla/5.0 (compatible; bingbot/2.0)") == .crawler(pattern: "bingbot"))
    }

    // MARK: how patterns are matched

    @Test func patternsAreCaseSensitiveAsUpstreamMeansThem() throws {
        let matcher = try build([#"Googlebot\/"#, "[wW]get"])
        #expect(matcher.isCrawler("Googlebot/2.1"))
        #expect(!matcher.isCrawler("googlebot/2.1"))
        #expect(!matcher.isCrawler("GOOGLEBOT/2.1"))
        #expect(matcher.isCrawler("Wget/1.21.4"))
        #expect(matcher.isCrawler("wget/1.21.4"))
        #expect(!matcher.isCrawler("WGET/1.21.4"))
    }

    @Test func aMatchInTheRightCaseIsFoundAfterOnesInTheWrongCase() throws {
        let matcher = try build(["Scrapy", "[cC]urebot"])
        #expect(matcher.isCrawler("scrapy SCRAPY Scrapy/2.11"))
        #expect(matcher.isCrawler("CUREBOT curebot/1"))
        #expect(!matcher.isCrawler("scrapy SCRAPY sCRAPY"))
    }

    @Test func anchorsHoldAtTheEndsOfTheUserAgent() throws {
        let matcher = try build(["^curl", "SSL Labs$", "^Silk\\/"])
        #expect(matcher.isCrawler("curl/8.5.0"))
        #expect(!matcher.isCrawler("xcurl/8.5.0"))
        #expect(!matcher.isCrawler(" curl/8.5.0"))
        #expect(matcher.isCrawler("Qualys SSL Labs"))
        #expect(!matcher.isCrawler("SSL Labs scanner"))
        #expect(matcher.isCrawler("Silk/1.0"))
        #expect(!matcher.isCrawler("Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/134.1.82"))
    }

    @Test func patternsWithGroupsClassesAndAlternativesAreConfirmedByTheirRegex() throws {
        let matcher = try build([
            "AdsBot-Google([^-]|$)", "Automaton|Newsify Feed Fetcher", #"(^| )sentry\/"#, #"BlogTraffic\/\d\.\d+ Feed-Fetcher"#,
            #"Spider[\s\S]*spider\.com"#,
        ])
        #expect(matcher.regexConfirmedCount == 5)
        #expect(matcher.regexOnlyCount == 0)
        #expect(matcher.isCrawler("AdsBot-Google (+http://www.google.com/adsbot.html)"))
        #expect(matcher.isCrawler("AdsBot-Google"))
        #expect(!matcher.isCrawler("AdsBot-Google-Mobile-Apps"))
        #expect(matcher.isCrawler("Automaton/1.0"))
        #expect(matcher.isCrawler("Newsify Feed Fetcher - 3 subscribers"))
        #expect(matcher.isCrawler("sentry/24.1.0 (https://sentry.io)"))
        #expect(matcher.isCrawler("Mozilla/5.0 sentry/24.1.0"))
        #expect(!matcher.isCrawler("Mozilla/5.0 notsentry/24.1.0"))
        #expect(matcher.isCrawler("BlogTraffic/2.15 Feed-Fetcher"))
        #expect(!matcher.isCrawler("BlogTraffic/x Feed-Fetcher"))
        #expect(matcher.isCrawler("Spider (+https://www.spider.com)"))
        #expect(!matcher.isCrawler("spider.com Spider"))
    }

    @Test func patternsWithoutARequiredStringAreTriedOnEveryUserAgent() throws {
        let matcher = try build(["(?i)lowbot", "^.{1,3}$", "^[0-9]+$", "Googlebot"])
        #expect(matcher.regexOnlyCount == 3)
        #expect(matcher.regexConfirmedCount == 0)
        #expect(matcher.isCrawler("LOWBOT/1"))
        #expect(matcher.isCrawler("abc"))
        #expect(matcher.isCrawler("1234"))
        #expect(!matcher.isCrawler("Mozilla/5.0 (X11; Linux x86_64)"))
        #expect(matcher.isCrawler("Googlebot"))
    }

    @Test func anInvalidPatternIsRefusedWithItsText() {
        #expect(throws: InvalidValue.self) { try CrawlerMatcher(patterns: ["fine", "broken("]) }
        do {
            _ = try CrawlerMatcher(patterns: ["[unclosed"])
            Issue.record("an invalid pattern was accepted")
        } catch {
            #expect(error.expected.contains("[unclosed"))
        }
    }

    @Test func substringsAndNonASCIIUserAgentsAreMatchedLikeStrings() throws {
        let matcher = try build(["^curl", "Googlebot"])
        let header = "UA: curl/8.5.0"
        #expect(matcher.isCrawler(header.dropFirst(4)))
        #expect(!matcher.isCrawler(header.dropFirst(3)))
        #expect(matcher.isCrawler("Mozilla/5.0 (Linux; de-DE; Gerät) Googlebot ✓"))
        #expect(!matcher.isCrawler("Mozilla/5.0 (Linux; de-DE; Gerät) Ünïcode ✓"))
        #expect(matcher.isCrawler(String(repeating: "Mozilla/5.0 ", count: 1000) + "Googlebot"))
    }

    @Test func anEmptyMatcherFlagsOnlyMissingUserAgents() throws {
        let matcher = try build([])
        #expect(!matcher.isCrawler("Googlebot/2.1"))
        #expect(matcher.verdict("") == .missingUserAgent)
    }

    @Test func oneMatcherServesConcurrentCallers() async {
        let matcher = Self.matcher
        let flagged = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    BrowserUserAgents.all.count(where: { matcher.isCrawler($0) })
                        + CrawlerExamples.all.count(where: { !matcher.isCrawler($0.userAgent) })
                }
            }
            return await group.reduce(0, +)
        }
        #expect(flagged == 4 * CrawlerExamples.all.count(where: { !CrawlerPatterns.patterns.contains($0.pattern) }))
    }
}
