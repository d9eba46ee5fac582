import NIOCore
import NIOWebSocket

/// One dashboard connection's outgoing side. The hub hands it messages from any thread without
/// waiting; they are written straight into the connection's channel on its event loop (no task,
/// no queue and no copy per client: every client's frame shares the message's bytes). The messages
/// written but not yet taken by the socket are counted: a client with ``capacity`` of them pending
/// cannot keep up, and is closed (1013, try again later) while the others go on untouched.
///
/// ``LiveHub`` creates one per admitted connection and writes to it cohort by cohort; its session
/// reads what the dashboard sends.
public final class HubClient: Sendable {
    /// Why the hub closed a client, which decides the close code the peer is sent.
    public enum CloseReason: Sendable, Equatable {
        /// Its outgoing buffer stayed full (WebSocket close code 1013, try again later).
        case tooSlow
        /// The hub is stopping (1001, going away).
        case goingAway
        /// The peer went away: there is no one to tell.
        case gone
        /// It left a protocol ping unanswered for a whole ping period (1001, as HummingbirdWebSocket).
        case silent
    }

    /// Touched on `channel.eventLoop` only.
    private struct State {
        var pending = 0
        var closed: CloseReason?
        /// A ping went out and no pong came back yet.
        var awaitingPong = false
        /// Where messages are written once `installWireWriter` ran: next to the socket.
        var wire: ChannelHandlerContext?
    }

    /// The client's number, unique within its hub; it also picks the slice of the ping period in
    /// which the client is pinged.
    public let id: Int
    /// Messages written and not yet taken by the socket at which the client counts as too slow
    /// (`ANALYTICS_WS_CLIENT_QUEUE`).
    public let capacity: Int
    /// The client's connection.
    public let channel: any Channel
    /// Negotiated permessage-deflate: gets the messages' compressed frames.
    public let deflates: Bool
    private let state: NIOLoopBoundBox<State>
    /// Says goodbye to the peer (close frame, then the connection); called on the event loop, once,
    /// when the client is closed by the hub.
    private let closeConnection: @Sendable (CloseReason) -> Void

    /// - Parameters:
    ///   - id: the client's number, unique within its hub.
    ///   - capacity: pending messages at which the client is closed as too slow.
    ///   - channel: the client's connection.
    ///   - deflates: whether the client negotiated permessage-deflate.
    ///   - closeConnection: says goodbye to the peer when the hub closes the client; called once,
    ///     on the event loop, and never for ``CloseReason/gone``.
    public init(
        id: Int, capacity: Int, channel: any Channel, deflates: Bool = false,
        closeConnection: @escaping @Sendable (CloseReason) -> Void
    ) {
        self.id = id
        self.deflates = deflates
        self.capacity = capacity
        self.channel = channel
        self.state = .makeBoxSendingValue(State(), eventLoop: channel.eventLoop)
        self.closeConnection = closeConnection
    }

    /// The event loop of the client's connection, where everything about the client happens.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// The outcome of a write to the client.
    public enum WriteResult: Sendable, Equatable {
        /// Handed to the connection, to be flushed.
        case written
        /// ``HubClient/capacity`` messages were still pending: the client is now closed as too slow.
        case overflowed
        /// Already closed or gone.
        case closed
    }

    /// Sends one message from any thread: written and flushed on the client's event loop.
    /// - Parameters:
    ///   - message: the message, encoded once for every client.
    ///   - completion: called on the event loop with the outcome.
    public func send(_ message: OutgoingMessage, completion: @escaping @Sendable (WriteResult) -> Void = { _ in }) {
        eventLoop.execute {
            completion(self.writeOnEventLoop(message))
            self.channel.flush()
        }
    }

    /// Writes a message without flushing; on the event loop only. A client that already has
    /// ``capacity`` messages pending is closed as ``CloseReason/tooSlow`` instead.
    /// - Returns: whether the message was written, overflowed the client, or found it closed.
    public func writeOnEventLoop(_ message: OutgoingMessage) -> WriteResult {
        eventLoop.preconditionInEventLoop()
        guard state.value.closed == nil, channel.isActive else { return .closed }
        guard state.value.pending < capacity else {
            state.value.closed = .tooSlow
            closeConnection(.tooSlow)
            return .overflowed
        }
        state.value.pending += 1
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in self.state.value.pending -= 1 }
        if let wire = state.value.wire {
            wire.write(NIOAny(IOData.byteBuffer(message.wire(deflate: deflates))), promise: written)
        } else {
            let frames = message.frames(deflate: deflates)
            for frame in frames.dropLast() { channel.write(frame, promise: nil) }
            channel.write(frames[frames.count - 1], promise: written)
        }
        return .written
    }

    /// Flushes what `writeOnEventLoop` wrote; on the event loop only.
    public func flushOnEventLoop() {
        if let wire = state.value.wire { wire.flush() } else { channel.flush() }
    }

    /// From now on messages are written as their pre-encoded bytes by a handler next to the socket,
    /// past the WebSocket handlers and the frame encoder: every client shares the same bytes, and
    /// the hub's passes over thousands of clients no longer walk each one's pipeline nor allocate a
    /// frame header per client, for a little more memory per connection.
    /// - Returns: a future that succeeds once the handler is in place, or fails when it could not be
    ///   added (the connection is closing).
    public func installWireWriter() -> EventLoopFuture<Void> {
        eventLoop.submit {
            let writer = WireWriter()
            try self.channel.pipeline.syncOperations.addHandler(writer, position: .first)
            self.state.value.wire = writer.context
        }
    }

    /// The outcome of ``pingOnEventLoop(_:)``.
    public enum PingResult: Sendable, Equatable {
        /// The ping is written, not yet flushed.
        case sent
        /// The previous ping is still unanswered: the client is now closed as silent.
        case silent
        /// The client was already closed or gone.
        case closed
    }

    /// Pings the peer (without flushing) unless the last ping is still unanswered, in which case the
    /// peer is closed as silent; on the event loop only. The hub pings every client in its own pass
    /// rather than through a task per connection, whose suspended frames cost memory per client.
    public func pingOnEventLoop(_ ping: WebSocketFrame) -> PingResult {
        eventLoop.preconditionInEventLoop()
        guard state.value.closed == nil, channel.isActive else { return .closed }
        guard !state.value.awaitingPong else {
            state.value.closed = .silent
            closeConnection(.silent)
            return .silent
        }
        state.value.awaitingPong = true
        channel.write(ping, promise: nil)
        return .sent
    }

    /// A pong arrived (see ``PongObserver``); on the event loop only.
    public func pongReceivedOnEventLoop() {
        state.value.awaitingPong = false
    }

    /// Messages written and not yet taken by the socket.
    public func pending() -> EventLoopFuture<Int> { eventLoop.submit { self.state.value.pending } }
    /// Why the client was closed; nil while it is open.
    public func closeReason() -> EventLoopFuture<CloseReason?> { eventLoop.submit { self.state.value.closed } }

    /// Closes the client for `reason` from any thread: nothing more is written to it, and unless the
    /// peer is already gone it is told why. Only the first reason counts.
    /// - Returns: a future that succeeds once the client is marked closed, on its event loop.
    @discardableResult
    public func close(_ reason: CloseReason) -> EventLoopFuture<Void> {
        eventLoop.submit {
            guard self.state.value.closed == nil else { return }
            self.state.value.closed = reason
            if reason != .gone { self.closeConnection(reason) }
        }
    }
}
