/// A stream entry id `ms-seq`, ordered as Redis orders them.
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: UInt64
    public let sequence: UInt64

    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `ms-seq`, or `ms` alone (sequence 0); nil when a part is not a decimal number.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let ms = UInt64(first) else { return nil }
        let seq = parts.count == 2 ? UInt64(parts[1]) : 0
        guard let seq else { return nil }
        self.init(milliseconds: ms, sequence: seq)
    }

    /// `0-0`, below every entry id.
    public static let zero = StreamID(milliseconds: 0, sequence: 0)

    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (a: StreamID, b: StreamID) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }
}
