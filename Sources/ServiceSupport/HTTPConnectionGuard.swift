import AnalyticsCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Keeps one client from holding a listener's resources: closes a connection that does not send
/// its request heads and bodies in time (``ConnectionDeadlines``), and answers `429` and closes a
/// connection beyond its address's cap (``ConnectionCounter``). Sits in an HTTP/1 pipeline after
/// the codecs, before everything that reads requests.
public final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// What a listener's guards share: the timeouts and the per-address counter.
    public struct Settings: Sendable {
        public var timeouts: ConnectionDeadlines.Timeouts
        public var counter: ConnectionCounter?

        /// - Parameters:
        ///   - timeouts: the header, body and idle timeouts.
        ///   - counter: the per-address cap; nil: none (admin listeners).
        public init(timeouts: ConnectionDeadlines.Timeouts, counter: ConnectionCounter? = nil) {
            self.timeouts = timeouts
            self.counter = counter
        }

        /// The timeouts the configuration sets, and the per-address cap of a public listener.
        public init(_ configuration: AnalyticsConfiguration, maximumPerAddress: Int?) {
            self.init(
                timeouts: .init(
                    header: .seconds(configuration.headerTimeoutSeconds), body: .seconds(configuration.bodyTimeoutSeconds),
                    idle: .seconds(configuration.idleTimeoutSeconds)),
                counter: maximumPerAddress.map { ConnectionCounter(maximumPerAddress: $0, exempt: configuration.trustedProxies) })
        }
    }

    private let settings: Settings
    private var deadlines: ConnectionDeadlines
    private var timer: Scheduled<Void>?
    private var counted: [UInt8]?
    private var overCap = false
    private var refused = false

    /// - Parameter settings: shared by every connection of the listener.
    public init(settings: Settings) {
        self.settings = settings
        deadlines = ConnectionDeadlines(timeouts: settings.timeouts, acceptedAt: .now)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        // Added as the connection is accepted.
        deadlines = ConnectionDeadlines(timeouts: settings.timeouts, acceptedAt: .now)
        if let counter = settings.counter {
            let (key, allowed) = counter.open(context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init))
            counted = key
            overCap = !allowed
        }
        rearm(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        timer?.cancel()
        timer = nil
        if let key = counted, let counter = settings.counter {
            counter.close(key)
            counted = nil
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head:
            if overCap {
                refuseOverCap(context: context)
                return
            }
            deadlines.headReceived(at: .now)
        case .end:
            if overCap { return }
            deadlines.requestEnded()
        case .body:
            if overCap { return }
        }
        rearm(context: context)
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            deadlines.responseEnded(at: .now)
            rearm(context: context)
        }
        context.write(data, promise: promise)
    }

    /// Beyond the address's cap: one `429` with `Connection: close`, then our side of the
    /// connection is shut; what the client still sends is read and dropped (closing with unread
    /// data would reset the connection and could lose the answer) until it closes its side or the
    /// header timeout closes the connection.
    private func refuseOverCap(context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        let body = #"{"error":"too many connections from your address, retry later"}"#
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.utf8.count)
        fields[.connection] = "close"
        fields[.retryAfter] = "5"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .tooManyRequests, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(mode: .output, promise: nil) }
    }

    /// Makes sure a check is scheduled. Requests only move the deadlines: a scheduled check that
    /// finds the deadline not reached schedules itself again, so a busy connection costs one timer
    /// per shortest timeout, not one per request.
    private func rearm(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let now = ContinuousClock.now
        // Never later than the shortest timeout from now: any deadline set before the check runs is
        // at least that far ahead, so the check is never late.
        let t = settings.timeouts
        let latest = now + min(t.header, t.body, t.idle)
        let due = min(deadlines.deadline ?? latest, latest)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .microseconds(max(0, (due - now).inMicroseconds))) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            if handler.deadlines.isExpired(at: .now) {
                context.close(promise: nil)
            } else {
                handler.rearm(context: context)
            }
        }
    }
}
