import AnalyticsCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `POST /api/analytics/event` on the connection's event loop, without going through
/// Hummingbird's router and the task that runs it: the hot route of the service costs a third of
/// the CPU that way. Every other request goes on down the pipeline to Hummingbird, in order
/// (`EventRouteSequencer`). Sits in Hummingbird's HTTP/1 pipeline, after the HTTP codecs.
final class EventRouteHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let endpoint = "/api/analytics/event"

    private struct EventRequest {
        let head: HTTPRequest
        /// Nil once the body is over the limit.
        var body: ByteBuffer?
        let start: ContinuousClock.Instant
    }

    private let ingest: EventIngest
    private let metrics: GatewayMetrics
    private let serverName: String
    private var sequencer = EventRouteSequencer()
    private var event: EventRequest?
    /// A read asked for while parts are held: issued once they have gone through.
    private var readPending = false
    /// The server is shutting down: passed on to Hummingbird once nothing is in progress here.
    private var quiesceEvent: Any?
    private var closed = false

    init(ingest: EventIngest, metrics: GatewayMetrics, serverName: String) {
        self.ingest = ingest
        self.metrics = metrics
        self.serverName = serverName
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
        // Backpressure for a pipelining client: read no more while its requests wait here.
        if sequencer.hasHeldParts {
            readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, sequencer.isHandlingEvent {
            // Hummingbird would close the connection under an event being answered.
            quiesceEvent = event
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    /// - Parameter duringRead: called from `channelRead`, which a `channelReadComplete` follows.
    private func perform(_ actions: [EventRouteSequencer.Action], context: ChannelHandlerContext, duringRead: Bool) {
        var forwarded = false
        for action in actions {
            switch action {
            case .forward(let part):
                context.fireChannelRead(wrapInboundOut(part))
                forwarded = true
            case .eventHead(let head):
                let declared = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                event = EventRequest(
                    head: head, body: declared > EventRules.maximumBodyBytes ? nil : context.channel.allocator.buffer(capacity: declared),
                    start: .now)
                if event?.body == nil { refuseOversizedBody(context: context) }
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
                guard let request = event, request.body != nil else {
                    // Refused as too large and read to its end: now the connection can close.
                    context.close(promise: nil)
                    continue
                }
                submit(request, context: context)
            }
        }
        // Hummingbird's async channel hands reads over to its task on `channelReadComplete`.
        if forwarded, !duringRead { context.fireChannelReadComplete() }
        if readPending, !sequencer.hasHeldParts {
            readPending = false
            context.read()
        }
        if let quiesce = quiesceEvent, !sequencer.isHandlingEvent {
            quiesceEvent = nil
            context.fireUserInboundEventTriggered(quiesce)
        }
    }

    /// A body over the limit is answered 413 at once, and our side of the connection is shut. The
    /// rest of the body is still read (and dropped) before the connection closes: closing with
    /// unread data would reset the connection and could lose the answer on its way to the client.
    private func refuseOversizedBody(context: ChannelHandlerContext) {
        metrics.recordRejected(rule: "body.size")
        respond(
            .error("body: at most \(EventRules.maximumBodyBytes) bytes", status: .contentTooLarge), closeConnection: true,
            context: context, closeOutputOnly: true)
    }

    private func submit(_ request: EventRequest, context: ChannelHandlerContext) {
        let submission = EventSubmission(
            peer: context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init), headers: request.head.headerFields,
            body: request.body)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ingest.ingest(submission) { answer in
            // Always a later turn of the loop, even for an answer given at once (a refusal): the
            // sequencer is not to be re-entered from inside `perform`.
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                // As Hummingbird does: the connection ends after a request that asked for it.
                let close = request.head.headerFields[.connection] == "close"
                handler.respond(answer, closeConnection: close, context: context)
                guard !close else { return }
                handler.perform(handler.sequencer.eventAnswered(), context: context, duringRead: false)
            }
        }
    }

    private func respond(
        _ answer: EventAnswer, closeConnection: Bool, context: ChannelHandlerContext, closeOutputOnly: Bool = false
    ) {
        defer { if !closeOutputOnly { event = nil } }
        guard !closed else { return }
        var fields = answer.headerFields
        fields[.date] = HTTPDate.now()
        fields[.server] = serverName
        fields[.contentLength] = String(answer.json.bytes.count)
        if closeConnection { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: answer.json.bytes))), promise: nil)
        if closeConnection {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                context.close(mode: closeOutputOnly ? .output : .all, promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        if let start = event?.start {
            metrics.recordRequest(endpoint: Self.endpoint, method: "POST", duration: .now - start)
        }
    }
}
