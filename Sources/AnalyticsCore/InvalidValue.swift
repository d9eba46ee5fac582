/// Why a value cannot be used, before it is tied to the variable it came from.
public struct InvalidValue: Error, Sendable, Equatable, CustomStringConvertible {
    /// What a valid value looks like (`an integer from 1 to 65535`).
    public let expected: String

    public init(expected: String) {
        self.expected = expected
    }

    public var description: String { "expected \(expected)" }
}
