import AnalyticsCore
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import ServiceSupport
import Synchronization
import Testing

@testable import GatewayKit

/// `EventRouteHandler` in an embedded pipeline, with the decision on each event in the test's
/// hands: when answers are written, what reaches Hummingbird (a recorder stands in for it) and
/// when, and what the handler holds back meanwhile.
@Suite("Event route handler")
struct EventRouteHandlerTests {
    /// The events submitted, each with the function that answers it.
    final class Submissions: Sendable {
        private let pending = Mutex<[(submission: EventSubmission, answer: @Sendable (EventAnswer) -> Void)]>([])

        var ingest: EventRouteHandler.Ingest {
            { submission, answer in self.pending.withLock { $0.append((submission, answer)) } }
        }

        var count: Int { pending.withLock { $0.count } }

        func body(_ index: Int) -> String? {
            pending.withLock { String(buffer: $0[index].submission.body) }
        }

        func answer(_ index: Int, with answer: EventAnswer) {
            pending.withLock { $0[index] }.answer(answer)
        }
    }

    /// Stands in for Hummingbird: what the handler passes on.
    final class Downstream: ChannelInboundHandler, @unchecked Sendable {  // used on the embedded loop's thread only
        typealias InboundIn = HTTPRequestPart
        var parts: [HTTPRequestPart] = []
        var userEvents: [String] = []
        var errors = 0
        var readCompletes = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
        func channelReadComplete(context: ChannelHandlerContext) { readCompletes += 1 }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { userEvents.append("\(type(of: event))") }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { errors += 1 }
    }

    /// Counts the reads the handler lets through towards the socket.
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {  // embedded loop's thread only
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) { reads += 1 }
    }

    struct Pipeline {
        let channel = EmbeddedChannel()
        let submissions = Submissions()
        let downstream = Downstream()
        let reads = ReadCounter()

        init() throws {
            let metrics = GatewayMetrics(registry: MetricsRegistry(namespace: "test"), routes: GatewayApplication.routes)
            try channel.pipeline.syncOperations.addHandlers([
                reads, EventRouteHandler(ingest: submissions.ingest, metrics: metrics, serverName: "test"), downstream,
            ])
        }

        func send(_ method: HTTPRequest.Method, _ path: String, body: String = "", headers: HTTPFields = [:]) throws {
            try channel.writeInbound(
                HTTPRequestPart.head(HTTPRequest(method: method, scheme: nil, authority: "t", path: path, headerFields: headers)))
            if !body.isEmpty { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body))) }
            try channel.writeInbound(HTTPRequestPart.end(nil))
        }

        func sendEvent(_ body: String = #"{"event_type":"click"}"#, headers: HTTPFields = [:]) throws {
            try send(.post, "/api/analytics/event", body: body, headers: headers)
        }

        /// Hummingbird answering the oldest request passed to it.
        func hummingbirdAnswers() throws {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            channel.embeddedEventLoop.run()
        }

        func answer(_ index: Int, status: HTTPResponse.Status = .created) {
            submissions.answer(index, with: EventAnswer(status: status, json: JSONText()))
            channel.embeddedEventLoop.run()
        }

        /// The statuses of the response heads written so far (each response's parts read off).
        func writtenStatuses() throws -> [Int] {
            var statuses: [Int] = []
            while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
                if case .head(let head) = part { statuses.append(head.status.code) }
            }
            return statuses
        }

        var forwardedHeads: [String] {
            downstream.parts.compactMap { if case .head(let h) = $0 { h.path } else { nil } }
        }
    }

    @Test func anEventIsSubmittedWithItsBodyAndAnsweredOnTheLoop() throws {
        let p = try Pipeline()
        try p.sendEvent(#"{"event_type":"click"}"#)
        #expect(p.submissions.count == 1)
        #expect(p.submissions.body(0) == #"{"event_type":"click"}"#)
        #expect(try p.writtenStatuses().isEmpty)
        p.answer(0)
        let head = try #require(try p.channel.readOutbound(as: HTTPResponsePart.self))
        guard case .head(let response) = head else {
            Issue.record("expected a head")
            return
        }
        #expect(response.status == .created)
        #expect(response.headerFields[.server] == "test")
        #expect(response.headerFields[.date]?.hasSuffix(" GMT") == true)
        #expect(response.headerFields[.contentLength] == "0")
        #expect(response.headerFields[.contentType] == "application/json; charset=utf-8")
        #expect(p.downstream.parts.isEmpty)
    }

    @Test func theServersShutdownWaitsForTheEventsBeingAnsweredAndThoseWaiting() throws {
        let p = try Pipeline()
        try p.send(.get, "/api/analytics/stats")
        try p.sendEvent()
        #expect(p.submissions.count == 0, "the event must wait for the page's answer")
        p.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(p.downstream.userEvents.isEmpty)
        try p.hummingbirdAnswers()
        #expect(p.submissions.count == 1)
        #expect(p.downstream.userEvents.isEmpty)
        p.answer(0)
        #expect(p.downstream.userEvents == ["ChannelShouldQuiesceEvent"])
        #expect(try p.writtenStatuses() == [200, 201])
    }

    @Test func theEndOfInputAndErrorsWaitForTheEventsAnswer() throws {
        let p = try Pipeline()
        try p.sendEvent()
        p.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        p.channel.pipeline.fireErrorCaught(ChannelError.ioOnClosedChannel)
        #expect(p.downstream.userEvents.isEmpty)
        #expect(p.downstream.errors == 0)
        p.answer(0)
        #expect(try p.writtenStatuses() == [201])
        #expect(p.downstream.userEvents == ["ChannelEvent"])
        #expect(p.downstream.errors == 1)
    }

    @Test func aMalformedEventRequestIsDroppedAndItsErrorPassedOnAtOnce() throws {
        let p = try Pipeline()
        try p.channel.writeInbound(
            HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: "t", path: "/api/analytics/event")))
        try p.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "{")))
        p.channel.pipeline.fireErrorCaught(ChannelError.ioOnClosedChannel)
        #expect(p.downstream.errors == 1)
        #expect(p.submissions.count == 0)
        // The connection carries on as new.
        try p.sendEvent()
        #expect(p.submissions.count == 1)
    }

    @Test func readsStopWhileTheSocketTakesNoMoreAnswers() throws {
        let p = try Pipeline()
        p.channel.pipeline.read()
        #expect(p.reads.reads == 1)
        p.channel.isWritable = false
        p.channel.pipeline.read()
        #expect(p.reads.reads == 1)
        p.channel.isWritable = true
        p.channel.pipeline.fireChannelWritabilityChanged()
        #expect(p.reads.reads == 2)
    }

    @Test func readsStopWhileRequestsWaitTheirTurn() throws {
        let p = try Pipeline()
        try p.sendEvent()
        try p.send(.get, "/api/analytics/stats")
        p.channel.pipeline.read()
        #expect(p.reads.reads == 0)
        p.answer(0)
        #expect(p.forwardedHeads == ["/api/analytics/stats"])
        #expect(p.downstream.readCompletes >= 1, "Hummingbird takes reads on channelReadComplete")
        #expect(p.reads.reads == 1)
    }

    @Test func aBodyOverTheLimitIsRefusedBeforeItEndsWithoutBeingSubmitted() throws {
        let p = try Pipeline()
        try p.channel.writeInbound(
            HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: "t", path: "/api/analytics/event")))
        let chunk = String(repeating: "a", count: 10_000)
        try p.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: chunk)))
        #expect(try p.writtenStatuses().isEmpty)
        try p.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: chunk)))
        #expect(try p.writtenStatuses() == [413])
        // Shutdown is not held back by a refused event.
        p.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(p.downstream.userEvents == ["ChannelShouldQuiesceEvent"])
        try p.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: chunk)))
        try p.channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(p.submissions.count == 0)
        #expect(!p.channel.isActive)
    }

    @Test func nothingAfterARequestAskingToCloseIsTaken() throws {
        let p = try Pipeline()
        try p.send(.get, "/api/analytics/stats", headers: [.connection: "close"])
        try p.sendEvent()
        try p.send(.get, "/api/analytics/letters")
        try p.hummingbirdAnswers()
        #expect(p.forwardedHeads == ["/api/analytics/stats"])
        #expect(p.submissions.count == 0)
    }

    @Test func anEventAnsweredAfterTheClientLeftIsNotWrittenNorAreTheEventsBehindIt() throws {
        let p = try Pipeline()
        try p.sendEvent()
        try p.sendEvent()
        _ = try? p.channel.close().wait()
        p.answer(0)
        #expect(p.submissions.count == 1, "the waiting event must not be published: nobody would get its answer")
    }
}
