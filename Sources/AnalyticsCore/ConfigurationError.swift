/// A configuration value that cannot be used: the process stops at start with this message (and
/// exit status 78), naming the variable so the operator knows what to fix.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable (or flag, or setting) at fault.
    public let variable: String
    /// What is wrong and what is expected instead.
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    /// The value of `variable` was refused.
    public init(variable: String, value: String, _ invalid: InvalidValue) {
        self.init(variable: variable, message: "invalid value '\(value)': expected \(invalid.expected)")
    }

    public var description: String { "\(variable): \(message)" }
}
