import AnalyticsCore

/// One worker the supervisor runs: which executable, its arguments and the environment it gets on
/// top of the supervisor's own. ``WorkerPlan`` makes them.
public struct WorkerSpec: Sendable, Equatable {
    /// Which of the service's executables it runs: `analytics-<rawValue>`.
    public enum Kind: String, Sendable, CaseIterable {
        case archiver, aggregator, wshub, gateway
    }

    /// Unique and bounded (a metrics label): `gateway`, `aggregator`, `archiver`, `wshub-0`, …
    public let name: String
    public let kind: Kind
    /// The executable's full path.
    public let executable: String
    /// Its arguments, after `argv[0]`.
    public let arguments: [String]
    /// Variables set on top of the supervisor's environment (they win over it).
    public let environment: [String: String]
}
