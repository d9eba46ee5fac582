import AnalyticsCore
import Logging
import NIOCore
import RedisClient
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// The hub: every connected dashboard, the live events arriving from Redis pub/sub, and the
/// periodic heartbeat. Events are coalesced hub-wide and flushed every `flushInterval`, so a client
/// gets at most 10 event messages a second however many batches arrive, and nothing is lost: each
/// flush carries every event since the last. A message is encoded once and the same bytes are
/// queued to every client; queueing never waits on a socket.
public final class LiveHub: Service, Sendable {
    public struct Settings: Sendable {
        public var maximumConnections: Int
        public var clientQueueCapacity = 64
        /// 110 ms: at most 9 event messages a second, leaving room for a heartbeat in the tenth.
        public var flushInterval: Duration = .milliseconds(110)
        public var heartbeatInterval: Duration = .seconds(5)
        /// `initial_stats` may reuse figures this fresh instead of asking Redis.
        public var statsFreshness: Duration = .milliseconds(500)

        public init(maximumConnections: Int) {
            self.maximumConnections = maximumConnections
        }
    }

    private struct State {
        var clients: [Int: HubClient] = [:]
        var nextID = 0
        var pending: [ArraySlice<UInt8>] = []
        var stats: (bytes: [UInt8], at: ContinuousClock.Instant)?
        var stopping = false
    }

    let settings: Settings
    let statsReader: StatsReader
    let metrics: HubMetrics
    let logger: Logger
    /// Progressed by every flush: `/healthz` fails when the loop stops (and with it the watchdog).
    public let liveness = Liveness(notifier: nil)
    private let state = Mutex(State())

    public init(settings: Settings, statsReader: StatsReader, metrics: HubMetrics, logger: Logger) {
        self.settings = settings
        self.statsReader = statsReader
        self.metrics = metrics
        self.logger = logger
    }

    public var clientCount: Int { state.withLock { $0.clients.count } }

    // MARK: Clients

    public enum Admission: Sendable {
        case admitted(HubClient)
        case full
        case stopping
    }

    /// Registers a new client, unless the hub is at its connection cap or stopping.
    public func admit() -> Admission {
        let admission = state.withLock { state -> Admission in
            if state.stopping { return .stopping }
            guard state.clients.count < settings.maximumConnections else { return .full }
            state.nextID += 1
            let client = HubClient(id: state.nextID, capacity: settings.clientQueueCapacity)
            state.clients[client.id] = client
            return .admitted(client)
        }
        if case .admitted = admission { metrics.setClients(clientCount) }
        return admission
    }

    public func remove(_ client: HubClient) {
        state.withLock { _ = $0.clients.removeValue(forKey: client.id) }
        metrics.setClients(clientCount)
    }

    /// `initial_stats` for one client (on connect and on `refresh_stats`).
    public func sendInitialStats(to client: HubClient) async {
        guard let stats = await currentStats() else { return }
        deliver(HubMessages.initialStats(stats), to: [client], type: .initialStats)
    }

    // MARK: Inbound from Redis

    /// Called on the subscription's thread: must not block.
    public func receive(_ event: RedisSubscriber.Event) {
        switch event {
        case .message(_, let payload):
            guard let update = HubMessages.update(payload) else {
                metrics.recordMalformed()
                return
            }
            state.withLock { state in
                state.pending.append(contentsOf: update.events)
                if let stats = update.stats { state.stats = (stats, .now) }
            }
            metrics.recordReceived(events: update.events.count)
        case .subscribed:
            metrics.setSubscribed(true)
            // Events published while we were away are lost to this hub: give every client fresh
            // figures at once rather than at the next heartbeat.
            Task { await self.broadcastStats(as: .initialStats) }
        case .disconnected:
            metrics.setSubscribed(false)
        }
    }

    // MARK: Outbound

    /// Flushes coalesced events and sends heartbeats until shutdown; then closes every client (1001).
    public func run() async throws {
        await withGracefulShutdownHandler {
            // Cancelled on shutdown, so that no sleep (the heartbeat's 5 s) holds the drain up.
            try? await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.flushLoop() }
                    group.addTask { await self.heartbeatLoop() }
                    await group.waitForAll()
                }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
        }
        let clients = state.withLock { Array($0.clients.values) }
        for client in clients { client.close(.goingAway) }
        logger.info("hub stopped", metadata: ["clients_closed": "\(clients.count)"])
    }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    func flushLoop() async {
        while !isStopping {
            try? await Task.sleep(for: settings.flushInterval)
            flush()
            liveness.progressed()
        }
    }

    /// Sends every event received since the last flush, in one message.
    func flush() {
        let events = state.withLock { state -> [ArraySlice<UInt8>] in
            defer { state.pending.removeAll(keepingCapacity: true) }
            return state.pending
        }
        guard let message = HubMessages.events(events) else { return }
        broadcast(message, type: events.count == 1 ? .event : .events, events: events.count)
    }

    func heartbeatLoop() async {
        while !isStopping {
            try? await Task.sleep(for: settings.heartbeatInterval)
            if isStopping { break }
            await broadcastStats(as: .heartbeat)
        }
    }

    func broadcastStats(as type: HubMetrics.MessageType) async {
        guard let stats = await currentStats(maximumAge: .zero) else { return }
        broadcast(type == .heartbeat ? HubMessages.heartbeat(stats) : HubMessages.initialStats(stats), type: type, events: 0)
    }

    /// The realtime figures: the latest seen if fresh enough, else read from Redis.
    func currentStats(maximumAge: Duration? = nil) async -> [UInt8]? {
        let maximumAge = maximumAge ?? settings.statsFreshness
        if let cached = state.withLock({ $0.stats }), ContinuousClock.now - cached.at <= maximumAge { return cached.bytes }
        do {
            let bytes = try await statsReader.realtime().json.bytes
            state.withLock { $0.stats = (bytes, .now) }
            return bytes
        } catch {
            logger.warning("realtime stats unavailable", metadata: ["error": "\(error)"])
            return state.withLock { $0.stats?.bytes }
        }
    }

    func broadcast(_ message: ByteBuffer, type: HubMetrics.MessageType, events: Int) {
        let start = ContinuousClock.now
        let clients = state.withLock { Array($0.clients.values) }
        deliver(message, to: clients, type: type)
        metrics.recordFanout(ContinuousClock.now - start, events: events)
    }

    private func deliver(_ message: ByteBuffer, to clients: [HubClient], type: HubMetrics.MessageType) {
        var delivered = 0
        for client in clients {
            switch client.enqueue(message) {
            case .queued: delivered += 1
            case .overflowed: metrics.recordDropped(.slow)
            case .closed: break
            }
        }
        metrics.recordSent(type, count: delivered)
    }
}
