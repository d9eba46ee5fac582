/// Why ``JSONScanner`` refused its input.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the input where parsing stopped.
    public let offset: Int
    /// What was wrong, in words (`unpaired surrogate`).
    public let reason: String
    public var description: String { "\(reason) at byte \(offset)" }
}
