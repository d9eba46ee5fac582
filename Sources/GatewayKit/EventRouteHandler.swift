import AnalyticsCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `POST /api/analytics/event` on the connection's event loop, without going through
/// Hummingbird's router and the task that runs it, which cost the hot route of the service much of
/// its CPU (bench/README.md has the figures). Every other request goes on down the pipeline to
/// Hummingbird, in order (``EventRouteSequencer``). Sits in Hummingbird's HTTP/1 pipeline, after the
/// HTTP codecs.
///
/// Hummingbird's connection handling further down sees none of the event requests, so what it acts
/// on — the end of the client's input, a malformed request, the server's shutdown — is held back
/// here until the events before it are answered; otherwise it would close the connection under an
/// event that is being put on the stream, and the client would never learn it was taken.
final class EventRouteHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Decides on one event and calls its second argument once with the answer, from any thread.
    typealias Ingest = @Sendable (EventSubmission, @escaping @Sendable (EventAnswer) -> Void) -> Void
    /// The answer to a request refused on its head alone (origin, content type); nil: read the body.
    typealias HeadCheck = @Sendable (HTTPFields) -> EventAnswer?

    static let endpoint = "/api/analytics/event"
    /// What an event body's buffer starts with: a tracker's event fits.
    static let initialBodyCapacity = 1024

    private struct EventRequest {
        let head: HTTPRequest
        /// Nil once the body is over the limit (the event is refused).
        var body: ByteBuffer?
        let start: ContinuousClock.Instant
    }

    /// What comes up the pipeline besides requests, held back in order.
    private enum Signal {
        case userEvent(Any)
        case error(any Error)
    }

    private let ingest: Ingest
    private let headCheck: HeadCheck
    private let metrics: GatewayMetrics
    private let serverName: String
    private var sequencer = EventRouteSequencer()
    private var event: EventRequest?
    /// A read asked for while requests wait here or the socket takes no more: issued after.
    private var readPending = false
    private var heldSignals: [Signal] = []
    private var closed = false
    /// The TCP peer, parsed once per connection rather than per event.
    private var peer: IPAddress?

    init(ingest: @escaping Ingest, headCheck: @escaping HeadCheck = { _ in nil }, metrics: GatewayMetrics, serverName: String) {
        self.ingest = ingest
        self.headCheck = headCheck
        self.metrics = metrics
        self.serverName = serverName
    }

    /// An event is being read or answered here (one refused as too large no longer counts: its
    /// connection closes anyway), or requests wait their turn.
    private var isBusy: Bool {
        (sequencer.isHandlingEvent && event?.body != nil) || sequencer.hasHeldParts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added to a connection just accepted: its peer is known.
        peer = context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(sequencer.received(unwrapInboundIn(data)), context: context, duringRead: true)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        guard isEnd else { return }
        sequencer.forwardedResponseEnded()
        if sequencer.hasHeldParts {
            // Not from inside Hummingbird's write: let it return first.
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.perform(handler.sequencer.drain(), context: context, duringRead: false)
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: read no more while a pipelining client's requests wait here, or while
        // the socket takes no more of our answers (a client that sends and never reads).
        readPending = true
        resumeReadingIfPossible(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        let endsConnection = event is ChannelShouldQuiesceEvent || (event as? ChannelEvent) == .inputClosed
        guard endsConnection, isBusy else { return context.fireUserInboundEventTriggered(event) }
        heldSignals.append(.userEvent(event))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if sequencer.isReadingEvent, self.event?.body != nil {
            // A malformed event request: it will not be answered; Hummingbird answers 400.
            sequencer.abandonEvent()
            self.event = nil
        }
        guard isBusy else { return context.fireErrorCaught(error) }
        heldSignals.append(.error(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    /// - Parameter duringRead: called from `channelRead`, which a `channelReadComplete` follows.
    private func perform(_ actions: [EventRouteSequencer.Action], context: ChannelHandlerContext, duringRead: Bool) {
        // Nothing more is taken from a closed connection: an event published now could not be answered.
        guard !closed else { return }
        var forwarded = false
        for action in actions {
            switch action {
            case .forward(let part):
                context.fireChannelRead(wrapInboundOut(part))
                forwarded = true
            case .eventHead(let head):
                let declared = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                let fits = declared <= EventRules.maximumBodyBytes
                let refusal = fits ? headCheck(head.headerFields) : nil
                let accepted = fits && refusal == nil
                // The buffer grows with the bytes that arrive, not with what the client declares.
                let capacity = min(declared, Self.initialBodyCapacity)
                event = EventRequest(head: head, body: accepted ? context.channel.allocator.buffer(capacity: capacity) : nil, start: .now)
                if !fits {
                    refuseOversizedBody(context: context)
                } else if let refusal {
                    refuseBeforeTheBody(refusal, context: context)
                } else if head.headerFields[.expect]?.lowercased() == "100-continue" {
                    // The client waits for this before it sends the body (curl, for a second).
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            case .eventBody(var buffer):
                // Taken out and put back, so the append does not copy the buffer.
                guard var body = event?.body.take() else { continue }
                if body.readableBytes + buffer.readableBytes > EventRules.maximumBodyBytes {
                    refuseOversizedBody(context: context)
                } else {
                    body.writeBuffer(&buffer)
                    event?.body = body
                }
            case .eventEnd:
                guard let request = event, let body = request.body else {
                    // Refused as too large and now read to its end: the connection can close.
                    context.close(promise: nil)
                    continue
                }
                submit(request, body: body, context: context)
            case .eventAbandoned:
                event = nil
            }
        }
        // Hummingbird's async channel hands reads over to its task on `channelReadComplete`.
        if forwarded, !duringRead { context.fireChannelReadComplete() }
        resumeReadingIfPossible(context: context)
        if !isBusy, !heldSignals.isEmpty {
            let signals = heldSignals
            heldSignals.removeAll()
            for signal in signals {
                switch signal {
                case .userEvent(let event): context.fireUserInboundEventTriggered(event)
                case .error(let error): context.fireErrorCaught(error)
                }
            }
        }
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        guard readPending, !sequencer.hasHeldParts, context.channel.isWritable else { return }
        readPending = false
        context.read()
    }

    /// A body over the limit is answered 413 at once, and our side of the connection is shut. The
    /// rest of the body is still read (and dropped) before the connection closes: closing with
    /// unread data would reset the connection and could lose the answer on its way to the client.
    private func refuseOversizedBody(context: ChannelHandlerContext) {
        metrics.recordRejected(rule: "body.size")
        refuseBeforeTheBody(.error("body: at most \(EventRules.maximumBodyBytes) bytes", status: .contentTooLarge), context: context)
    }

    /// Answers a request refused before its body is read (all of it, or the rest of it), and shuts
    /// our side of the connection; the body that still comes is read and dropped, then the
    /// connection closes. A client that sent `Expect: 100-continue` sends no body at all.
    private func refuseBeforeTheBody(_ answer: EventAnswer, context: ChannelHandlerContext) {
        respond(answer, closeConnection: true, context: context, closeOutputOnly: true)
    }

    private func submit(_ request: EventRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        let submission = EventSubmission(peer: peer, headers: request.head.headerFields, body: body, authority: request.head.authority)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ingest(submission) { answer in
            // Always a later turn of the loop, even for an answer given at once (a refusal): the
            // sequencer is not to be re-entered from inside `perform`.
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                let close = EventRouteSequencer.asksToClose(request.head)
                handler.respond(answer, closeConnection: close, context: context)
                handler.perform(handler.sequencer.eventAnswered(), context: context, duringRead: false)
            }
        }
    }

    private func respond(
        _ answer: EventAnswer, closeConnection: Bool, context: ChannelHandlerContext, closeOutputOnly: Bool = false
    ) {
        if let start = event?.start {
            metrics.recordRequest(endpoint: Self.endpoint, method: "POST", duration: .now - start)
        }
        if !closeOutputOnly { event = nil }
        guard !closed else { return }
        var fields = answer.headerFields
        fields[.date] = HTTPDate.now()
        fields[.server] = serverName
        fields[.contentLength] = String(answer.json.bytes.count)
        if closeConnection { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: answer.json.bytes))), promise: nil)
        guard closeConnection else {
            return context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        let mode: CloseMode = closeOutputOnly ? .output : .all
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(mode: mode, promise: nil) }
    }
}
