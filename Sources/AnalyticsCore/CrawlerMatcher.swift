import Foundation

/// Tells crawlers and other bots from browsers by their user agent, with the patterns of the
/// crawler-user-agents project (`CrawlerPatterns`), so that the gateway can keep them out of the
/// figures. An empty or whitespace-only user agent counts as a bot too.
///
/// Build one per process (building compiles the patterns) and share it: matching reads immutable
/// state only. A user agent is read once, looking for a required string of every pattern at the same
/// time with ASCII case ignored (`LiteralSearcher`); a pattern whose string occurs is then confirmed
/// case-sensitively, as upstream means it: by comparing bytes when the pattern is a plain string
/// (most are), by its regular expression otherwise. Patterns in which no required string is found
/// are tried as regular expressions on every user agent that nothing else matched.
public struct CrawlerMatcher: Sendable {
    /// How a pattern whose required string occurs is confirmed.
    private enum Confirmation: Sendable {
        /// The pattern is this plain string: the occurrence must be it, case included.
        case plain(bytes: [UInt8], atStart: Bool, atEnd: Bool)
        /// `regexes[index]` must match the user agent.
        case regex(index: Int)
    }

    private let patterns: [String]
    private let searcher: LiteralSearcher
    /// For each string of `searcher`, the pattern it comes from.
    private let literalPatterns: [Int32]
    /// For each pattern.
    private let confirmations: [Confirmation]
    private let regexes: [NSRegularExpression]
    /// The patterns without a required string, as indices into `regexes`.
    private let regexOnly: [(pattern: Int, regex: Int)]

    /// Every pattern.
    public var patternCount: Int { patterns.count }
    /// The patterns confirmed by a regular expression once their required string occurs.
    public var regexConfirmedCount: Int { regexes.count - regexOnly.count }
    /// The patterns without a required string, tried as regular expressions on every user agent that
    /// nothing else matched: the slow path, which should stay nearly empty.
    public var regexOnlyCount: Int { regexOnly.count }

    /// A matcher of the vendored patterns, `CrawlerPatterns.patterns` (the tests check that they compile).
    public init() {
        do {
            try self.init(patterns: CrawlerPatterns.patterns)
        } catch {
            preconditionFailure("a vendored crawler pattern does not compile: \(error)")
        }
    }

    /// A matcher of `patterns`: regular expressions (ICU syntax), each matched case-sensitively
    /// anywhere in a user agent.
    /// - Throws: `InvalidValue` naming the first pattern that is not a valid regular expression.
    public init(patterns: [String]) throws(InvalidValue) {
        var literals: [[UInt8]] = []
        var literalPatterns: [Int32] = []
        var confirmations: [Confirmation] = []
        var regexes: [NSRegularExpression] = []
        var regexOnly: [(pattern: Int, regex: Int)] = []
        for (index, pattern) in patterns.enumerated() {
            let prefilter = CrawlerPatternPrefilter(pattern: pattern)
            if let plain = prefilter.plain {
                confirmations.append(.plain(bytes: plain.bytes, atStart: plain.atStart, atEnd: plain.atEnd))
            } else {
                do {
                    regexes.append(try NSRegularExpression(pattern: pattern))
                } catch {
                    throw InvalidValue(expected: "regular expressions ('\(pattern)' is not one)")
                }
                confirmations.append(.regex(index: regexes.count - 1))
                if prefilter.literals.isEmpty { regexOnly.append((index, regexes.count - 1)) }
            }
            for literal in prefilter.literals {
                literals.append(literal)
                literalPatterns.append(Int32(index))
            }
        }
        self.patterns = patterns
        self.searcher = LiteralSearcher(strings: literals)
        self.literalPatterns = literalPatterns
        self.confirmations = confirmations
        self.regexes = regexes
        self.regexOnly = regexOnly
    }

    /// Whether `userAgent` is a bot: empty, whitespace only, or matched by a crawler pattern.
    public func isCrawler(_ userAgent: some StringProtocol) -> Bool {
        verdict(userAgent).isBot
    }

    /// What `userAgent` is, and for a crawler the pattern that matched.
    public func verdict(_ userAgent: some StringProtocol) -> BotVerdict {
        if let verdict = userAgent.utf8.withContiguousStorageIfAvailable({ verdict(utf8: $0) }) {
            return verdict
        }
        var copy = String(userAgent)
        return copy.withUTF8 { verdict(utf8: $0) }
    }

    private func verdict(utf8 text: UnsafeBufferPointer<UInt8>) -> BotVerdict {
        guard let firstVisible = text.firstIndex(where: { !Self.isASCIIWhitespace($0) }) else { return .missingUserAgent }
        if text[firstVisible] >= 0x80 && String(decoding: text, as: UTF8.self).allSatisfy(\.isWhitespace) {
            return .missingUserAgent
        }
        var matched: Int?
        var lastRegexTried = -1
        let found = searcher.firstOccurrence(in: text) { literal, range in
            let pattern = Int(literalPatterns[literal])
            switch confirmations[pattern] {
            case .plain(let bytes, let atStart, let atEnd):
                guard !atStart || range.lowerBound == 0, !atEnd || range.upperBound == text.count,
                    text[range].elementsEqual(bytes)
                else { return false }
            case .regex(let index):
                guard index != lastRegexTried else { return false }
                lastRegexTried = index
                guard Self.matches(regexes[index], text) else { return false }
            }
            matched = pattern
            return true
        }
        if found, let matched { return .crawler(pattern: patterns[matched]) }
        for (pattern, regex) in regexOnly where Self.matches(regexes[regex], text) {
            return .crawler(pattern: patterns[pattern])
        }
        return .browser
    }

    private static func matches(_ regex: NSRegularExpression, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let string = String(decoding: text, as: UTF8.self)
        return regex.firstMatch(in: string, range: NSRange(location: 0, length: string.utf16.count)) != nil
    }

    @inline(__always) private static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
