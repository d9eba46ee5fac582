import Prometheus
import ServiceSupport

/// The hub's Prometheus metrics: clients, messages, drops and fan-out time.
public final class HubMetrics: Sendable {
    /// The `type` label of `analytics_wshub_messages_sent_total`: one case per message the hub
    /// sends (see ``HubMessages``).
    public enum MessageType: String, Sendable, CaseIterable {
        case initialStats = "initial_stats"
        case heartbeat, event, events
    }

    /// The `reason` label of `analytics_wshub_clients_dropped_total`.
    public enum DropReason: String, Sendable, CaseIterable {
        /// Its outgoing buffer stayed full: closed with 1013.
        case slow
        /// Refused at the upgrade: connection cap.
        case full
        /// Refused at the upgrade: origin not allowed.
        case origin
        /// Refused at the upgrade: its address has as many clients as it may (429).
        case address
        /// Left a protocol ping unanswered for a ping period: closed with 1001.
        case silent
    }

    private let clients: Gauge
    private let sent: [MessageType: Counter]
    private let dropped: [DropReason: Counter]
    private let received: Counter
    private let receivedEvents: Counter
    private let malformed: Counter
    private let subscribed: Gauge
    private let fanout: DurationHistogram
    private let connections: Counter
    private let refreshesIgnored: Counter

    /// Registers the hub's metrics in `registry`.
    public init(registry: MetricsRegistry) {
        let p = registry.prometheus
        clients = p.makeGauge(name: "analytics_wshub_clients", help: "WebSocket clients connected to this hub")
        connections = p.makeCounter(name: "analytics_wshub_connections_total", help: "WebSocket clients accepted since start")
        refreshesIgnored = p.makeCounter(
            name: "analytics_wshub_refreshes_ignored_total", help: "refresh_stats requests ignored: sooner than a second after the last")
        var sent: [MessageType: Counter] = [:]
        for type in MessageType.allCases {
            sent[type] = p.makeCounter(
                name: "analytics_wshub_messages_sent_total", labels: [("type", type.rawValue)],
                help: "Messages written to clients, by type (one per client)")
        }
        self.sent = sent
        var dropped: [DropReason: Counter] = [:]
        for reason in DropReason.allCases {
            dropped[reason] = p.makeCounter(
                name: "analytics_wshub_clients_dropped_total", labels: [("reason", reason.rawValue)],
                help: "Clients closed or refused by the hub, by reason")
        }
        self.dropped = dropped
        received = p.makeCounter(name: "analytics_wshub_updates_received_total", help: "Aggregator updates received from Redis pub/sub")
        receivedEvents = p.makeCounter(name: "analytics_wshub_events_received_total", help: "Events received from Redis pub/sub")
        malformed = p.makeCounter(
            name: "analytics_wshub_updates_malformed_total", help: "Pub/sub messages that were not aggregator updates")
        subscribed = p.makeGauge(name: "analytics_wshub_redis_subscribed", help: "1 while the Redis pub/sub subscription is up")
        fanout = p.makeDurationHistogram(
            name: "analytics_wshub_fanout_seconds", buckets: MetricsRegistry.latencyBuckets,
            help: "Time from a message's broadcast until it is written to every client of one event loop")
    }

    func setClients(_ n: Int) { clients.set(to: Double(n)) }
    func recordConnection() { connections.increment() }
    func recordRefreshIgnored() { refreshesIgnored.increment() }
    func recordSent(_ type: MessageType, count: Int) { sent[type]?.increment(by: Int64(count)) }
    func recordDropped(_ reason: DropReason) { dropped[reason]?.increment() }
    func recordReceived(events: Int) {
        received.increment()
        receivedEvents.increment(by: Int64(events))
    }
    func recordMalformed() { malformed.increment() }
    func setSubscribed(_ up: Bool) { subscribed.set(to: up ? 1 : 0) }
    func recordFanout(_ duration: Duration, events: Int) { fanout.record(duration) }
}
