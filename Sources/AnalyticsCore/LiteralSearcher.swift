/// Finds every occurrence of many byte strings at once, ignoring ASCII case, in one pass over the text
/// (Aho–Corasick, as a complete automaton: one table read per byte of text, whatever the number of
/// strings). The prefilter of `CrawlerMatcher`.
///
/// Bytes that occur in no string share one input class, and `A`–`Z` share the classes of `a`–`z`, so
/// a state's row holds one entry per class rather than 256.
struct LiteralSearcher: Sendable {
    /// Entry `state * classCount + class`: the next state's row offset, `next * classCount`. The states
    /// in which some string ends are numbered last: their rows start at `firstAcceptingRow`.
    private let transitions: [UInt32]
    private let firstAcceptingRow: Int
    /// The input class of each byte.
    private let byteClasses: [UInt8]
    private let classCount: Int
    /// The strings that end in state `s`: `endingStrings[endingStart[s]..<endingStart[s + 1]]`, with
    /// their lengths alongside.
    private let endingStart: [Int32]
    private let endingStrings: [Int32]
    private let endingLengths: [Int32]

    /// The number of states of the automaton.
    var stateCount: Int { endingStart.count - 1 }

    /// - Parameter strings: the strings to find; an occurrence of `strings[i]` is reported as `i`.
    ///   Upper-case ASCII letters in them are matched as lower case. Empty strings are never reported.
    init(strings: [[UInt8]]) {
        var classes = [UInt8](repeating: 0, count: 256)
        var classCount = 1
        for string in strings {
            for byte in string {
                let folded = Int(Self.lowercased(byte))
                if classes[folded] == 0 {
                    precondition(classCount < 256, "more than 255 distinct bytes")
                    classes[folded] = UInt8(classCount)
                    classCount += 1
                }
            }
        }
        for upper in UInt8(ascii: "A")...UInt8(ascii: "Z") {
            classes[Int(upper)] = classes[Int(upper | 0x20)]
        }

        // The trie: `goto[state * classCount + class]`, -1 where there is no edge yet.
        var goto = [Int32](repeating: -1, count: classCount)
        var ends: [[Int32]] = [[]]
        for (index, string) in strings.enumerated() where !string.isEmpty {
            var state = 0
            for byte in string {
                let slot = state * classCount + Int(classes[Int(Self.lowercased(byte))])
                if goto[slot] < 0 {
                    goto[slot] = Int32(ends.count)
                    goto.append(contentsOf: repeatElement(-1, count: classCount))
                    ends.append([])
                }
                state = Int(goto[slot])
            }
            ends[state].append(Int32(index))
        }
        let stateCount = ends.count
        precondition(stateCount * classCount <= Int(UInt32.max), "too many strings")

        // Breadth first: each state's failure link is the longest proper suffix that is also a
        // trie state; a missing edge goes where the failure state's edge goes, and a state also ends
        // every string its failure state ends.
        var failure = [Int](repeating: 0, count: stateCount)
        var queue: [Int] = []
        queue.reserveCapacity(stateCount)
        for c in 0..<classCount {
            if goto[c] < 0 {
                goto[c] = 0
            } else {
                queue.append(Int(goto[c]))
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            ends[state].append(contentsOf: ends[failure[state]])
            for c in 0..<classCount {
                let slot = state * classCount + c
                let viaFailure = goto[failure[state] * classCount + c]
                if goto[slot] < 0 {
                    goto[slot] = viaFailure
                } else {
                    let child = Int(goto[slot])
                    failure[child] = Int(viaFailure)
                    queue.append(child)
                }
            }
        }

        // Renumbered breadth first, so that the rows of the shallow states, where the text keeps
        // coming back, lie together; the accepting states last, so that a comparison tells them.
        let order = [0] + queue.filter { ends[$0].isEmpty } + queue.filter { !ends[$0].isEmpty }
        firstAcceptingRow = (1 + queue.count { ends[$0].isEmpty }) * classCount
        var renumbered = [Int](repeating: 0, count: stateCount)
        for (new, old) in order.enumerated() { renumbered[old] = new }
        var endingStart: [Int32] = [0]
        var endingStrings: [Int32] = []
        var endingLengths: [Int32] = []
        var transitions: [UInt32] = []
        transitions.reserveCapacity(goto.count)
        for old in order {
            endingStrings.append(contentsOf: ends[old])
            endingLengths.append(contentsOf: ends[old].map { Int32(strings[Int($0)].count) })
            endingStart.append(Int32(endingStrings.count))
            for next in goto[(old * classCount)..<((old + 1) * classCount)] {
                let target = Int(next)
                transitions.append(UInt32(renumbered[target] * classCount))
            }
        }
        self.transitions = transitions
        byteClasses = classes
        self.classCount = classCount
        self.endingStart = endingStart
        self.endingStrings = endingStrings
        self.endingLengths = endingLengths
    }

    /// Calls `body` with every occurrence in `text`, as the string's index and the range of `text`
    /// it covers, in the order the occurrences end, until `body` answers true.
    /// - Returns: whether `body` answered true.
    @inline(__always)
    func firstOccurrence(in text: UnsafeBufferPointer<UInt8>, where body: (_ string: Int, _ range: Range<Int>) -> Bool) -> Bool {
        guard let bytes = text.baseAddress else { return false }
        let count = text.count
        return transitions.withUnsafeBufferPointer { tableBuffer in
            byteClasses.withUnsafeBufferPointer { classBuffer in
                let table = tableBuffer.baseAddress!
                let classes = classBuffer.baseAddress!
                var row = 0
                var position = 0
                while position < count {
                    // The hot loop: one load and one addition from one byte to the next, and nothing
                    // but locals, so that no state goes through memory.
                    repeat {
                        row = Int(table[row &+ Int(classes[Int(bytes[position])])])
                        position &+= 1
                    } while row < firstAcceptingRow && position < count
                    if row >= firstAcceptingRow && reportEnding(atRow: row, end: position, body) {
                        return true
                    }
                }
                return false
            }
        }
    }

    private func reportEnding(atRow row: Int, end: Int, _ body: (Int, Range<Int>) -> Bool) -> Bool {
        let state = row / classCount
        for k in Int(endingStart[state])..<Int(endingStart[state + 1]) {
            if body(Int(endingStrings[k]), (end - Int(endingLengths[k]))..<end) { return true }
        }
        return false
    }

    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }
}
