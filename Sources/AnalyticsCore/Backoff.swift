/// A doubling delay between retries: `initial`, then twice as long each time up to `maximum`, and
/// back to `initial` after a success. A value type, so each retry loop owns its own.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    /// The delay the next `next()` returns.
    public private(set) var current: Duration

    /// A backoff that starts at `initial`. Traps unless `0 < initial <= maximum`.
    /// - Parameters:
    ///   - initial: the first delay, and the delay after `reset()`.
    ///   - maximum: the delay never grows past it.
    public init(initial: Duration, maximum: Duration) {
        precondition(initial > .zero && maximum >= initial, "a backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        current = initial
    }

    /// A backoff from `range.lowerBound` up to `range.upperBound`.
    /// - Parameter range: the first delay and the longest.
    public init(_ range: ClosedRange<Duration>) {
        self.init(initial: range.lowerBound, maximum: range.upperBound)
    }

    /// The delay to wait now; the one after it is twice as long (at most `maximum`).
    public mutating func next() -> Duration {
        defer { current = min(current * 2, maximum) }
        return current
    }

    /// After a success: the next delay is `initial` again.
    public mutating func reset() {
        current = initial
    }
}
