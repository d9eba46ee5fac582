import AnalyticsCore
import Logging
import NIOCore
import NIOWebSocket
import RedisClient
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// The hub: every connected dashboard, the live events arriving from Redis pub/sub, and the
/// periodic heartbeat. Events are coalesced and written to the clients cohort by cohort (see
/// ``BroadcastSchedule``): a cohort's turn comes at most once every ``Settings/flushInterval``, so
/// a client gets at most 10 messages a second however many batches arrive, and nothing is lost:
/// each turn carries every event the cohort has not had. A message is encoded once and the same bytes are written to
/// every client it is for, on each client's event loop; nothing here waits on a socket, and a
/// client too slow to read is closed (``HubClient``) without holding the others up.
public final class LiveHub: Service, Sendable {
    /// How the hub serves its clients; every setting but the connection cap has a default.
    public struct Settings: Sendable {
        /// Clients served at once (`ANALYTICS_WS_MAX_CONNECTIONS`); more are refused with 1013.
        public var maximumConnections: Int
        /// Messages pending for one client before it is closed as too slow
        /// (`ANALYTICS_WS_CLIENT_QUEUE`).
        public var clientQueueCapacity = 64
        /// See ``BroadcastSchedule/minimumClientsPerStep``.
        public var minimumClientsPerStep = BroadcastSchedule.defaultMinimumClientsPerStep
        /// The time between a cohort's turns: 125 ms makes at most 8 event messages a second, which
        /// leaves room under the limit of 10 for a heartbeat and for network jitter (two messages
        /// sent a little apart can arrive closer).
        public var flushInterval: Duration = .milliseconds(125)
        /// The time between two heartbeats.
        public var heartbeatInterval: Duration = .seconds(5)
        /// Protocol pings to every client (nil: none); a client silent for a whole period is closed.
        public var pingInterval: Duration? = .seconds(10)
        /// `initial_stats` may reuse figures this fresh instead of asking Redis.
        public var statsFreshness: Duration = .milliseconds(500)

        /// - Parameter maximumConnections: clients served at once.
        public init(maximumConnections: Int) {
            self.maximumConnections = maximumConnections
        }
    }

    /// The clients served by one event loop, by cohort: a message goes to those it is for in one
    /// pass on it.
    struct LoopClients {
        let loop: any EventLoop
        var cohorts = [[Int: HubClient]](repeating: [:], count: BroadcastSchedule.cohortCount)

        var isEmpty: Bool { cohorts.allSatisfy(\.isEmpty) }

        /// Into this loop's smallest cohort, the smallest hub-wide (`hubSizes`) among equals: every
        /// cohort has its share of every event loop, so that each step keeps all the loops busy (by
        /// id, cohorts would follow the loops' round robin), and the cohorts stay even hub-wide.
        /// Returns the cohort.
        mutating func add(_ client: HubClient, hubSizes: [Int]) -> Int {
            let smallest = cohorts.indices.min { (cohorts[$0].count, hubSizes[$0]) < (cohorts[$1].count, hubSizes[$1]) }!
            cohorts[smallest][client.id] = client
            return smallest
        }

        /// The cohort it was in, if it was here.
        mutating func remove(_ client: HubClient) -> Int? {
            cohorts.indices.first { cohorts[$0].removeValue(forKey: client.id) != nil }
        }

        var all: FlattenSequence<[Dictionary<Int, HubClient>.Values]> { cohorts.map(\.values).joined() }
    }

    private struct State {
        var loops: [ObjectIdentifier: LoopClients] = [:]
        var clientCount = 0
        /// Clients per cohort, hub-wide.
        var cohortSizes = [Int](repeating: 0, count: BroadcastSchedule.cohortCount)
        /// Clients that negotiated permessage-deflate: messages are compressed only if there are any.
        var deflatingCount = 0
        var nextID = 0
        var schedule: BroadcastSchedule
        /// The latest heartbeat, for the cohorts that have not had it (see ``BroadcastSchedule``).
        var heartbeat: OutgoingMessage?
        var stats: (bytes: [UInt8], at: ContinuousClock.Instant)?
        var stopping = false
    }

    let settings: Settings
    let statsReader: StatsReader
    let metrics: HubMetrics
    let logger: Logger
    /// Progressed by every flush: `/healthz` fails when the loop stops (and with it the watchdog).
    public let liveness = Liveness(notifier: nil)
    private let state: Mutex<State>
    /// Compresses each message once for the clients that negotiated permessage-deflate.
    private let deflater = Mutex(MessageDeflater())

    /// - Parameters:
    ///   - settings: how the clients are served.
    ///   - statsReader: reads the realtime figures from Redis, for `initial_stats` and heartbeats.
    ///   - metrics: the hub's metrics.
    ///   - logger: where failed reads and the shutdown are reported.
    public init(settings: Settings, statsReader: StatsReader, metrics: HubMetrics, logger: Logger) {
        self.settings = settings
        self.state = Mutex(State(schedule: BroadcastSchedule(minimumClientsPerStep: settings.minimumClientsPerStep)))
        self.statsReader = statsReader
        self.metrics = metrics
        self.logger = logger
    }

    /// Clients connected now.
    public var clientCount: Int { state.withLock { $0.clientCount } }

    // MARK: Clients

    /// The outcome of ``admit(channel:deflates:initialStats:closeConnection:)``.
    public enum Admission: Sendable {
        /// Registered: the hub writes to this client from now on.
        case admitted(HubClient)
        /// Refused: the hub is at ``Settings/maximumConnections``.
        case full
        /// Refused: the hub is shutting down.
        case stopping
    }

    /// Registers a new client on `channel`, unless the hub is at its connection cap or stopping,
    /// and sends it `initial_stats` (when known) before anything else: the write is queued on its
    /// event loop while the client is registered, so any broadcast that includes it comes after.
    /// - Parameters:
    ///   - channel: the client's connection, upgraded to WebSocket.
    ///   - deflates: whether the client negotiated permessage-deflate.
    ///   - initialStats: the realtime figures' JSON, when known; without them the caller sends
    ///     `initial_stats` later (``sendInitialStats(to:)``).
    ///   - closeConnection: says goodbye to the peer when the hub closes the client (see
    ///     ``HubClient``).
    public func admit(
        channel: any Channel, deflates: Bool = false, initialStats: [UInt8]? = nil,
        closeConnection: @escaping @Sendable (HubClient.CloseReason) -> Void
    ) -> Admission {
        let initial = initialStats.map { outgoing(HubMessages.initialStats($0), deflate: deflates) }
        let metrics = metrics
        let admission = state.withLock { state -> Admission in
            if state.stopping { return .stopping }
            guard state.clientCount < settings.maximumConnections else { return .full }
            state.nextID += 1
            let client = HubClient(
                id: state.nextID, capacity: settings.clientQueueCapacity, channel: channel, deflates: deflates,
                closeConnection: closeConnection)
            let cohort = state.loops[ObjectIdentifier(channel.eventLoop), default: LoopClients(loop: channel.eventLoop)]
                .add(client, hubSizes: state.cohortSizes)
            state.cohortSizes[cohort] += 1
            state.clientCount += 1
            if deflates { state.deflatingCount += 1 }
            if let initial { client.send(initial, completion: Self.recordInitialStats(metrics)) }
            return .admitted(client)
        }
        if case .admitted = admission { metrics.setClients(clientCount) }
        return admission
    }

    /// Takes a client out of the hub when its session ends: no broadcast reaches it any more.
    public func remove(_ client: HubClient) {
        state.withLock { state in
            if let cohort = state.loops[ObjectIdentifier(client.eventLoop)]?.remove(client) {
                state.cohortSizes[cohort] -= 1
                state.clientCount -= 1
                if client.deflates { state.deflatingCount -= 1 }
            }
        }
        metrics.setClients(clientCount)
    }

    /// `initial_stats` for one client (on connect and on `refresh_stats`); nothing when no figures
    /// can be had (Redis unreachable and none known yet).
    public func sendInitialStats(to client: HubClient) async {
        guard let stats = await currentStats() else { return }
        client.send(outgoing(HubMessages.initialStats(stats), deflate: client.deflates), completion: Self.recordInitialStats(metrics))
    }

    private static func recordInitialStats(_ metrics: HubMetrics) -> @Sendable (HubClient.WriteResult) -> Void {
        { result in
            switch result {
            case .written: metrics.recordSent(.initialStats, count: 1)
            case .overflowed: metrics.recordDropped(.slow)
            case .closed: break
            }
        }
    }

    // MARK: Inbound from Redis

    /// Takes one event of the Redis subscription: an update's events join the schedule and its
    /// figures become the latest known; a malformed message is counted and dropped; a subscription
    /// (re-)established sends every client fresh `initial_stats`. Called on the subscription's
    /// thread: must not block.
    public func receive(_ event: RedisSubscriber.Event) {
        switch event {
        case .message(_, let payload):
            guard let update = HubMessages.update(payload) else {
                metrics.recordMalformed()
                return
            }
            state.withLock { state in
                state.schedule.append(update.events)
                if let stats = update.stats { state.stats = (stats, .now) }
            }
            metrics.recordReceived(events: update.events.count)
        case .subscribed:
            metrics.setSubscribed(true)
            // Events published while we were away are lost to this hub: give every client fresh
            // figures at once rather than at the next heartbeat.
            Task { await self.broadcastInitialStats() }
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
                    if let interval = self.settings.pingInterval { group.addTask { await self.pingLoop(every: interval) } }
                    await group.waitForAll()
                }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
        }
        // Also when cancelled rather than asked to stop gracefully: admit no one from now on.
        state.withLock { $0.stopping = true }
        let clients = state.withLock { $0.loops.values.flatMap(\.all) }
        for client in clients { client.close(.goingAway) }
        // Each session ends (and leaves the hub) once its close handshake is done; the HTTP server
        // stops after the hub, so wait for them, boundedly, or it would close them first (1000).
        let deadline = ContinuousClock.now + .seconds(2)
        while clientCount > 0, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
        }
        logger.info("hub stopped", metadata: ["clients_closed": "\(clients.count)", "clients_left": "\(clientCount)"])
    }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    /// Self-clocked: the next step starts its share of `flushInterval` after this one started, and
    /// not before every event loop has written this one to all its clients. When writing takes
    /// longer than that (many clients on few cores), messages grow and come less often, instead of
    /// steps queueing up on the event loops and the delay growing without bound.
    func flushLoop() async {
        while !isStopping {
            let started = ContinuousClock.now
            let (turn, share, clients, heartbeat, deflate) = state.withLock { state in
                (
                    state.schedule.next(clients: state.clientCount, at: started, spacing: settings.flushInterval),
                    state.schedule.stepShare(clients: state.clientCount), state.clientCount, state.heartbeat, state.deflatingCount > 0
                )
            }
            switch turn {
            case .wait(let until):
                try? await Task.sleep(until: until)
            case .step(let step):
                if clients > 0, !step.isEmpty { await write(step, heartbeat: heartbeat, deflate: deflate) }
                liveness.progressed()
                try? await Task.sleep(until: started + settings.flushInterval * share)
            }
        }
    }

    /// Writes a step of the schedule: to each of its cohorts, every event it has not had, in one
    /// message, and the latest heartbeat if it has not had it; returns once written.
    func write(_ step: BroadcastSchedule.Step, heartbeat: OutgoingMessage?, deflate: Bool) async {
        let start = ContinuousClock.now
        var messages = [(message: OutgoingMessage, type: HubMetrics.MessageType, events: Int)?](
            repeating: nil, count: BroadcastSchedule.cohortCount)
        for delivery in step.deliveries {
            guard let encoded = HubMessages.events(delivery.events) else { continue }
            let message = (
                outgoing(encoded, deflate: deflate), delivery.events.count == 1 ? HubMetrics.MessageType.event : .events,
                delivery.events.count
            )
            for cohort in delivery.cohorts { messages[cohort] = message }
        }
        var heartbeats = [OutgoingMessage?](repeating: nil, count: BroadcastSchedule.cohortCount)
        for cohort in step.heartbeatCohorts { heartbeats[cohort] = heartbeat }
        let eventMessages = messages
        let heartbeatMessages = heartbeats
        let metrics = metrics
        let passes = onEachLoop { loopClients in
            for cohort in step.cohorts {
                let message = eventMessages[cohort]
                let heartbeatMessage = heartbeatMessages[cohort]
                guard message != nil || heartbeatMessage != nil else { continue }
                var written = 0
                var heartbeats = 0
                for client in loopClients.cohorts[cohort].values {
                    // Both messages, then one flush: one write to the socket.
                    let wroteEvents = message.map { Self.write($0.message, to: client, metrics: metrics) } ?? false
                    let wroteHeartbeat = heartbeatMessage.map { Self.write($0, to: client, metrics: metrics) } ?? false
                    if wroteEvents { written += 1 }
                    if wroteHeartbeat { heartbeats += 1 }
                    if wroteEvents || wroteHeartbeat { client.flushOnEventLoop() }
                }
                if let message { metrics.recordSent(message.type, count: written) }
                if heartbeats > 0 { metrics.recordSent(.heartbeat, count: heartbeats) }
            }
            metrics.recordFanout(ContinuousClock.now - start, events: eventMessages.compactMap { $0?.events }.max() ?? 0)
        }
        for pass in passes { try? await pass.get() }
    }

    /// Pings every client once per `interval`, a tenth of them at a time: all at once, thousands of
    /// pings and their pongs hold every message up behind them.
    func pingLoop(every interval: Duration) async {
        let ping = WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "analytics-wshub"))
        let slices = 10
        var tick = 0
        while !isStopping {
            try? await Task.sleep(for: interval / slices)
            if isStopping { break }
            let slice = tick % slices
            tick += 1
            let metrics = metrics
            onEachLoop { loopClients in
                for client in loopClients.all where client.id % slices == slice {
                    switch client.pingOnEventLoop(ping) {
                    case .sent: client.channel.flush()
                    case .silent: metrics.recordDropped(.silent)
                    case .closed: break
                    }
                }
            }
        }
    }

    /// Every `heartbeatInterval`, fresh figures for a heartbeat that each cohort gets at its next
    /// step, with its events if it has any: no extra pass over every client.
    func heartbeatLoop() async {
        while !isStopping {
            try? await Task.sleep(for: settings.heartbeatInterval)
            if isStopping { break }
            guard let stats = await currentStats(maximumAge: .zero) else { continue }
            let message = outgoing(HubMessages.heartbeat(stats), deflate: state.withLock { $0.deflatingCount > 0 })
            state.withLock { state in
                state.heartbeat = message
                state.schedule.heartbeatReady()
            }
        }
    }

    /// `initial_stats` to every client at once (after the subscription came back).
    func broadcastInitialStats() async {
        guard let stats = await currentStats(maximumAge: .zero) else { return }
        broadcast(HubMessages.initialStats(stats), type: .initialStats, events: 0)
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

    /// Writes without flushing; true if written. On the client's event loop.
    private static func write(_ message: OutgoingMessage, to client: HubClient, metrics: HubMetrics) -> Bool {
        switch client.writeOnEventLoop(message) {
        case .written: return true
        case .overflowed: metrics.recordDropped(.slow)
        case .closed: break
        }
        return false
    }

    /// Writes a message to every client: one pass per event loop, on it, flushing each client as it
    /// goes (so that the first clients do not wait for the last).
    @discardableResult
    func broadcast(_ message: ByteBuffer, type: HubMetrics.MessageType, events: Int) -> [EventLoopFuture<Void>] {
        let start = ContinuousClock.now
        let message = outgoing(message, deflate: state.withLock { $0.deflatingCount > 0 })
        let metrics = metrics
        return onEachLoop { loopClients in
            var written = 0
            for client in loopClients.all where Self.write(message, to: client, metrics: metrics) {
                written += 1
                client.flushOnEventLoop()
            }
            metrics.recordSent(type, count: written)
            metrics.recordFanout(ContinuousClock.now - start, events: events)
        }
    }

    /// Runs `pass` over each event loop's clients, on that loop; one future per loop with clients.
    @discardableResult
    private func onEachLoop(_ pass: @escaping @Sendable (LoopClients) -> Void) -> [EventLoopFuture<Void>] {
        let groups = state.withLock { Array($0.loops.values) }
        return groups.filter { !$0.isEmpty }.map { group in group.loop.submit { pass(group) } }
    }

    /// A message ready for every client, compressed once if any client takes it compressed.
    func outgoing(_ message: ByteBuffer, deflate: Bool) -> OutgoingMessage {
        guard deflate else { return OutgoingMessage(message) }
        return deflater.withLock { OutgoingMessage(message, deflater: $0) }
    }
}
