import AnalyticsCore

/// One worker the supervisor runs: which executable, its arguments and the environment it gets on
/// top of the supervisor's own.
public struct WorkerSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case archiver, aggregator, wshub, gateway
    }

    /// Unique and bounded (a metrics label): `gateway`, `aggregator`, `archiver`, `wshub-0`, …
    public let name: String
    public let kind: Kind
    public let executable: String
    public let arguments: [String]
    public let environment: [String: String]
}
