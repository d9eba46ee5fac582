import Foundation

/// Runs Debian's curl as a child process and waits for it without blocking a thread of Swift's
/// pool (the server under test may need that thread to answer).
public enum Curl {
    /// What curl printed (standard output and error together), with `-w` text at the end.
    public struct Outcome: Sendable {
        public let status: Int32?
        public let output: String
        public let elapsed: Duration

        /// The final HTTP status, from the `-w` marker `Curl.run` adds.
        public var httpStatus: Int? {
            guard let marker = output.range(of: "curl-status=", options: .backwards) else { return nil }
            return Int(output[marker.upperBound...].prefix(3))
        }
    }

    /// `curl -s <arguments>` followed by the status marker.
    public static func run(_ arguments: [String], in directory: TemporaryDirectory, timeout: Duration = .seconds(20)) async throws
        -> Outcome
    {
        let start = ContinuousClock.now
        let process = try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/curl"), arguments: ["-s"] + arguments + ["-w", "\ncurl-status=%{http_code}\n"],
            logDirectory: directory.url, name: "curl")
        let status = await process.waitForExit(timeout: timeout)
        return Outcome(status: status, output: process.output, elapsed: ContinuousClock.now - start)
    }
}
