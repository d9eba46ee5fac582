/// Why an event was refused: the rule it broke, the HTTP status and a message for the client.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable name for the rule (also the metrics label), e.g. `event_type.format`.
    public let rule: String
    /// The HTTP status to answer: 413 for an oversized body, 400 otherwise.
    public let status: Int
    /// The `error` of the JSON answer: names the field and what it must be.
    public let message: String

    public var description: String { message }

    init(_ rule: String, _ message: String, status: Int = 400) {
        self.rule = rule
        self.status = status
        self.message = message
    }
}
