/// The consumer groups that read the event stream. Each one gets every accepted event; an entry
/// leaves the stream only when every group has acknowledged it, and the gateway is ready only while
/// a live consumer of each group proves it is alive.
public enum ConsumerGroup: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Counts the events into the Redis aggregates (`analytics-aggregator`).
    case aggregator
    /// Stores the events in PostgreSQL (`analytics-archiver`).
    case archiver

    /// The group's name in Redis (`XGROUP`, `XREADGROUP`, `XACK`).
    public var name: String { rawValue }

    public var description: String { rawValue }
}
