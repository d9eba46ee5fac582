/// What the literal prefilter of `CrawlerMatcher` needs from one crawler pattern (a regular
/// expression): strings in lower case one of which occurs, ignoring ASCII case, in every text the
/// pattern matches; and, when the whole pattern is a plain string (`Googlebot\/`, `^curl`,
/// `SSL Labs$`), that string, so a match is confirmed by comparing bytes rather than by a regex.
///
/// Only the common regex syntax is understood: escapes, `.`, classes, groups, `|`, `^`, `$` and the
/// quantifiers `* + ? {n,m}`. A pattern with anything else (lookarounds, inline options,
/// back-references…) yields no literal, and the matcher then tries its regex on every user agent.
struct CrawlerPatternPrefilter: Sendable {
    /// Case-folded strings, one of which every match contains; empty when none could be found.
    let literals: [[UInt8]]
    /// The whole pattern as a plain string, case-sensitive, with its anchors; nil when the pattern
    /// needs a regex.
    let plain: (bytes: [UInt8], atStart: Bool, atEnd: Bool)?

    init(pattern: String) {
        var parser = Parser(Array(pattern.unicodeScalars))
        guard let analysis = parser.pattern(), !parser.unsupported else {
            literals = []
            plain = nil
            return
        }
        var unique: [[UInt8]] = []
        for literal in analysis.required ?? [] where !unique.contains(literal) {
            unique.append(literal)
        }
        literals = unique
        plain = analysis.plain
    }
}

extension CrawlerPatternPrefilter {
    /// Required strings of a sub-expression: any one of them occurs in every match. Better sets have
    /// a longer shortest string (fewer false candidates), then fewer strings.
    fileprivate typealias Required = [[UInt8]]

    fileprivate static func better(_ a: Required, than b: Required?) -> Bool {
        guard let b else { return true }
        let shortestA = a.map(\.count).min() ?? 0
        let shortestB = b.map(\.count).min() ?? 0
        return shortestA != shortestB ? shortestA > shortestB : a.count < b.count
    }

    /// A recursive-descent reader of the pattern. Unsupported syntax sets `unsupported`.
    fileprivate struct Parser {
        private let scalars: [Unicode.Scalar]
        private var position = 0
        private(set) var unsupported = false

        init(_ scalars: [Unicode.Scalar]) {
            self.scalars = scalars
        }

        /// One element of a sequence, before its quantifier.
        private enum Atom {
            /// A character matched as itself: its bytes folded to lower case, and as written.
            case character(folded: [UInt8], exact: [UInt8])
            /// A class of the upper and lower case of one letter (`[wW]`): only its folded form.
            case caseVariants(folded: [UInt8])
            case group(Required?)
            case anchor(Unicode.Scalar)
            /// Anything else that consumes or asserts (`.`, `\d`, `[^-]`, `\b`).
            case other
        }

        private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

        /// The whole pattern: its required strings and, if it is one, its plain string; nil when its
        /// syntax is not understood.
        mutating func pattern() -> (required: Required?, plain: (bytes: [UInt8], atStart: Bool, atEnd: Bool)?)? {
            let required = alternation()
            guard !unsupported, current == nil else { return nil }
            return (required, plainString())
        }

        /// The pattern as a plain string: one branch of characters only, with at most a leading `^`
        /// and a trailing `$`.
        private func plainString() -> (bytes: [UInt8], atStart: Bool, atEnd: Bool)? {
            var probe = Parser(scalars)
            var atoms: [Atom] = []
            while probe.current != nil {
                guard let atom = probe.atom(), !probe.unsupported, probe.quantifier() == nil, !probe.unsupported,
                    probe.current != "|"
                else { return nil }
                atoms.append(atom)
            }
            var atStart = false
            var atEnd = false
            if case .anchor("^") = atoms.first {
                atStart = true
                atoms.removeFirst()
            }
            if case .anchor("$") = atoms.last {
                atEnd = true
                atoms.removeLast()
            }
            var bytes: [UInt8] = []
            for atom in atoms {
                guard case .character(_, let exact) = atom else { return nil }
                bytes += exact
            }
            return bytes.isEmpty ? nil : (bytes, atStart, atEnd)
        }

        /// `a|b|…`: the union of the branches' strings; nil when a branch has none.
        private mutating func alternation() -> Required? {
            var union = sequence()
            while current == "|" {
                position += 1
                let branch = sequence()
                union = union.flatMap { u in branch.map { u + $0 } }
            }
            return union
        }

        /// A run of atoms: the best of its runs of consecutive characters and of its required groups.
        private mutating func sequence() -> Required? {
            var best: Required?
            var run: [UInt8] = []
            func endRun() {
                if !run.isEmpty, CrawlerPatternPrefilter.better([run], than: best) { best = [run] }
                run = []
            }
            while let c = current, c != "|", c != ")", !unsupported {
                guard let atom = atom() else {
                    unsupported = true
                    break
                }
                let least = quantifier()
                let required = least.map { $0 >= 1 } ?? true
                switch atom {
                case .character(let folded, _), .caseVariants(let folded):
                    if required { run += folded }
                    if least != nil { endRun() }
                case .group(let inner):
                    endRun()
                    if required, let inner, CrawlerPatternPrefilter.better(inner, than: best) { best = inner }
                case .anchor, .other:
                    endRun()
                }
            }
            endRun()
            return best
        }

        /// `*` `+` `?` `{n}` `{n,}` `{n,m}` (with an optional lazy or possessive mark): the least
        /// count, nil when there is no quantifier.
        private mutating func quantifier() -> Int? {
            guard let c = current else { return nil }
            var least: Int
            switch c {
            case "*", "?":
                least = 0
                position += 1
            case "+":
                least = 1
                position += 1
            case "{":
                position += 1
                var digits = ""
                while let d = current, ("0"..."9").contains(d) {
                    digits.unicodeScalars.append(d)
                    position += 1
                }
                if current == "," {
                    position += 1
                    while let d = current, ("0"..."9").contains(d) { position += 1 }
                }
                guard let n = Int(digits), current == "}" else {
                    unsupported = true
                    return nil
                }
                least = n
                position += 1
            default:
                return nil
            }
            if current == "?" || current == "+" { position += 1 }
            return least
        }

        private mutating func atom() -> Atom? {
            guard let c = current else { return nil }
            position += 1
            switch c {
            case "(":
                guard current != "?" else { return nil }
                let inner = alternation()
                guard current == ")" else { return nil }
                position += 1
                return .group(inner)
            case "[":
                return characterClass()
            case "\\":
                return escape()
            case "^", "$":
                return .anchor(c)
            case ".":
                return .other
            case ")", "]", "{", "}", "*", "+", "?", "|":
                return nil
            default:
                return Self.character(c)
            }
        }

        private static func character(_ c: Unicode.Scalar) -> Atom {
            let exact = Array(String(c).utf8)
            return .character(folded: exact.map(LiteralSearcher.lowercased), exact: exact)
        }

        /// After a backslash.
        private mutating func escape() -> Atom? {
            guard let c = current else { return nil }
            position += 1
            switch c {
            case "d", "D", "s", "S", "w", "W", "b", "B": return .other
            case "t": return Self.character("\t")
            case "n": return Self.character("\n")
            case "r": return Self.character("\r")
            default:
                // Other letters and digits are escapes this reader does not know; any other
                // character escaped is itself.
                return c.properties.isAlphabetic || ("0"..."9").contains(c) || !c.isASCII ? nil : Self.character(c)
            }
        }

        /// After `[`: the case variants of one letter (`[wW]`, `[x]`), or another class.
        private mutating func characterClass() -> Atom? {
            var negated = false
            if current == "^" {
                negated = true
                position += 1
            }
            guard current != "]" else { return nil }
            var members: [Unicode.Scalar] = []
            var simple = !negated
            while let c = current, c != "]" {
                position += 1
                switch c {
                case "[":
                    return nil  // nested sets mean different things to different engines
                case "\\":
                    guard let e = current else { return nil }
                    position += 1
                    if e.properties.isAlphabetic || ("0"..."9").contains(e) { simple = false } else { members.append(e) }
                case "-" where !members.isEmpty && current != "]":
                    simple = false
                default:
                    members.append(c)
                }
            }
            guard current == "]" else { return nil }
            position += 1
            guard simple, let first = members.first, first.isASCII else { return .other }
            let folded = LiteralSearcher.lowercased(UInt8(first.value))
            let allVariants = members.allSatisfy { $0.isASCII && LiteralSearcher.lowercased(UInt8($0.value)) == folded }
            return allVariants ? .caseVariants(folded: [folded]) : .other
        }
    }
}
