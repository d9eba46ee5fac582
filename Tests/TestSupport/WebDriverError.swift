/// A WebDriver command that failed: the W3C error code and message chromedriver answered with
/// (`no such element`, `javascript error`, `session not created`…), or what went wrong around it.
public struct WebDriverError: Error, CustomStringConvertible {
    /// The command, as `POST /session/<id>/element`.
    public let command: String
    /// The HTTP status of the answer; nil when there was none.
    public let status: Int?
    /// WebDriver's error code (`no such element`), or `unknown error` for an answer without one.
    public let error: String
    /// WebDriver's message.
    public let message: String

    public init(command: String, status: Int?, error: String, message: String) {
        self.command = command
        self.status = status
        self.error = error
        self.message = message
    }

    public var description: String {
        // chromedriver's messages often repeat the error code: said once.
        let text = message.hasPrefix(error + ":") ? message : "\(error): \(message)"
        return "WebDriver \(command): \(text)" + (status.map { " (HTTP \($0))" } ?? "")
    }
}
