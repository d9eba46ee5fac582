

/// Why an event was refused: the rule it broke, the HTTP status and a message for the client.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable name for the rule (also the metrics label), e.g. `event_type.format`.
    public let rule: String
    public let status: Int
    public let message: String

    public var description: String { message }

    init(_ rule: String, _ message: String, status: Int = 400) {
        self.rule = rule
        self.status = status
        self.message = message
    }
}
