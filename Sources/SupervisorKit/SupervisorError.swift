/// Why the supervisor cannot start or goes on no longer; each message says what to do.
public struct SupervisorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for callers and tests to tell them apart without reading the message.
    public enum Code: Sendable, Equatable {
        /// A worker ended more often than the restart intensity allows.
        case workerGaveUp
        /// A worker's executable is not beside the supervisor's.
        case executableMissing
        /// The socket the workers report to could not be made.
        case notifySocket
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, and what the operator can do about it.
    public let message: String

    public var description: String { message }

    /// `worker` ended `restarts` times within `window`.
    public static func workerGaveUp(_ worker: String, restarts: Int, window: Duration) -> SupervisorError {
        SupervisorError(
            code: .workerGaveUp,
            message: "worker \(worker) ended \(restarts) times within \(window): every worker was stopped. "
                + "Its log above says why it ended; fix that, then start the service again (under systemd, the unit restarts it)")
    }

    /// The worker executable at `path` does not exist or cannot be run.
    public static func executableMissing(_ path: String) -> SupervisorError {
        SupervisorError(
            code: .executableMissing,
            message: "\(path) not found: the supervisor runs the workers from its own directory, so install the five "
                + "analytics-* executables side by side")
    }

    /// The notify socket at `path` could not be made, for the system's `reason`.
    public static func notifySocket(_ path: String, _ reason: String) -> SupervisorError {
        SupervisorError(
            code: .notifySocket,
            message: "cannot create the workers' notify socket \(path): \(reason). The supervisor needs a writable runtime "
                + "directory ($RUNTIME_DIRECTORY under systemd, else the temporary directory) with a short path")
    }
}
