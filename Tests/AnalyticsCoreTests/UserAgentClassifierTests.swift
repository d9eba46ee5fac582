import AnalyticsCore
import Testing

@Suite("User agent dimensions")
struct UserAgentClassifierTests {
    let classifier = UserAgentClassifier()

    @Test func everyRealUserAgentOfTheCorpusGetsTheBrowserVersionSystemAndDeviceUAParserGives() {
        #expect(UserAgentExpectations.all.count >= 300)
        var mismatches: [String] = []
        for expected in UserAgentExpectations.all {
            let found = classifier.classify(expected.userAgent)
            let wanted = UserAgentDimensions(
                browser: expected.browser, browserMajor: expected.major, os: expected.os, device: expected.device)
            if found != wanted { mismatches.append("\(expected.userAgent)\n  found \(found)\n  wanted \(wanted)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func theCorpusCoversTheCommonBrowsersSystemsAndDevices() {
        let browsers = Set(UserAgentExpectations.all.map(\.browser))
        let systems = Set(UserAgentExpectations.all.map(\.os))
        let devices = Set(UserAgentExpectations.all.map(\.device))
        #expect(browsers.isSuperset(of: ["Chrome", "Safari", "Firefox", "Edge", "Opera", "Samsung Internet", "Android WebView"]))
        #expect(systems.isSuperset(of: ["Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS"]))
        #expect(devices == [.desktop, .mobile, .tablet])
    }

    @Test func aBotsDeviceIsBotWhateverItsUserAgentImitates() {
        let matcher = CrawlerMatcher()
        for (_, example) in CrawlerExamples.all.prefix(200) where matcher.isCrawler(example) {
            #expect(classifier.classify(example, isBot: true).device == .bot)
        }
        let googlebot =
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
            + "Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        #expect(classifier.classify(googlebot, isBot: matcher.isCrawler(googlebot)).device == .bot)
    }

    @Test func anEmptyOrUnknownUserAgentHasEmptyNamesOnADesktop() {
        #expect(classifier.classify("") == UserAgentDimensions())
        #expect(classifier.classify("curl/8.5.0") == UserAgentDimensions())
        #expect(classifier.classify("Mozilla/5.0 (compatible)") == UserAgentDimensions())
    }

    @Test func theBrowserVersionJoinsTheNameAndTheMajorVersion() {
        #expect(UserAgentDimensions(browser: "Chrome", browserMajor: "135").browserVersion == "Chrome 135")
        #expect(UserAgentDimensions(browser: "Pinterest").browserVersion == "Pinterest")
        #expect(UserAgentDimensions().browserVersion == "")
    }

    @Test func aHugeVersionNumberIsCutToSixDigits() {
        let found = classifier.classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/12345678901234567890")
        #expect(found.browser == "Firefox")
        #expect(found.browserMajor == "123456")
    }

    @Test func aUserAgentWithInvalidUTF8OrNonASCIITextIsClassifiedWithoutCrashing() {
        let text = String(decoding: [0x4D, 0xFF, 0xFE, 0x43, 0x68, 0x72, 0x6F, 0x6D, 0x65, 0x2F, 0x39], as: UTF8.self)
        #expect(classifier.classify(text).browser == "Chrome")
        #expect(classifier.classify("Mozilla/5.0 (Windows NT 10.0) Chrome/120 Safari/537.36 — écran").os == "Windows")
    }
}
