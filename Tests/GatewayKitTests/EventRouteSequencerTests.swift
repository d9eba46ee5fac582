import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Testing

@testable import GatewayKit

/// The order-keeping of `EventRouteHandler`, without a channel: which parts go to Hummingbird,
/// which are answered as events, and which wait.
@Suite("Event route sequencer")
struct EventRouteSequencerTests {
    typealias Action = EventRouteSequencer.Action

    static func head(_ method: HTTPRequest.Method, _ path: String) -> HTTPRequest {
        HTTPRequest(method: method, scheme: nil, authority: "x", path: path)
    }

    static let event = head(.post, "/api/analytics/event")
    static let page = head(.get, "/api/analytics/stats")
    static let body = ByteBuffer(string: #"{"event_type":"click"}"#)

    /// Feeds whole requests; returns every action in order.
    static func feed(_ sequencer: inout EventRouteSequencer, _ heads: [HTTPRequest]) -> [Action] {
        var actions: [Action] = []
        for head in heads {
            actions += sequencer.received(.head(head))
            actions += sequencer.received(.body(body))
            actions += sequencer.received(.end(nil))
        }
        return actions
    }

    @Test(arguments: [
        ("/api/analytics/event", true), ("/api/analytics/event?x=1", true), ("/api/analytics/event/", true),
        ("//api/analytics//event", true), ("/api/analytics/events", false), ("/api/analytics", false),
        ("/api/analytics/event/x", false), ("/", false),
    ])
    func theEventRouteIsMatchedAsTheRouterWould(path: String, matches: Bool) {
        #expect(EventRouteSequencer.isEventRoute(Self.head(.post, path)) == matches)
        #expect(!EventRouteSequencer.isEventRoute(Self.head(.get, path)))
    }

    @Test func anEventPOSTIsAnsweredHereAndNothingReachesHummingbird() {
        var s = EventRouteSequencer()
        #expect(Self.feed(&s, [Self.event]) == [.eventHead(Self.event), .eventBody(Self.body), .eventEnd])
        #expect(s.isHandlingEvent)
        #expect(s.eventAnswered().isEmpty)
        #expect(!s.isHandlingEvent)
        #expect(s.unansweredForwarded == 0)
    }

    @Test func otherRequestsGoToHummingbirdAsTheyCome() {
        var s = EventRouteSequencer()
        let actions = Self.feed(&s, [Self.page, Self.page])
        #expect(actions == [Self.page, Self.page].flatMap { [.forward(.head($0)), .forward(.body(Self.body)), .forward(.end(nil))] })
        #expect(s.unansweredForwarded == 2)
        #expect(!s.hasHeldParts)
    }

    @Test func anEventWaitsForHummingbirdToAnswerTheRequestBeforeIt() {
        var s = EventRouteSequencer()
        _ = Self.feed(&s, [Self.page])
        #expect(Self.feed(&s, [Self.event]).isEmpty)
        #expect(s.hasHeldParts)
        #expect(s.drain().isEmpty)  // still unanswered
        s.forwardedResponseEnded()
        #expect(s.drain() == [.eventHead(Self.event), .eventBody(Self.body), .eventEnd])
        #expect(!s.hasHeldParts)
    }

    @Test func requestsBehindAnEventWaitForItsAnswerThenGoInOrder() {
        var s = EventRouteSequencer()
        _ = s.received(.head(Self.event))
        _ = s.received(.body(Self.body))
        #expect(s.received(.end(nil)) == [.eventEnd])
        // Pipelined behind it: a page, an event, a page.
        #expect(Self.feed(&s, [Self.page, Self.event, Self.page]).isEmpty)
        // The page goes; the second event waits for the page's answer, and the last page for it.
        #expect(s.eventAnswered() == [.forward(.head(Self.page)), .forward(.body(Self.body)), .forward(.end(nil))])
        #expect(s.hasHeldParts)
        s.forwardedResponseEnded()
        #expect(s.drain() == [.eventHead(Self.event), .eventBody(Self.body), .eventEnd])
        #expect(s.eventAnswered() == [.forward(.head(Self.page)), .forward(.body(Self.body)), .forward(.end(nil))])
        #expect(!s.hasHeldParts)
        #expect(s.unansweredForwarded == 1)
    }

    @Test func anEventBodyInManyPartsIsPassedOnAsItComes() {
        var s = EventRouteSequencer()
        _ = s.received(.head(Self.event))
        for i in 0..<5 {
            #expect(s.received(.body(ByteBuffer(string: "\(i)"))) == [.eventBody(ByteBuffer(string: "\(i)"))])
        }
        #expect(s.received(.end(nil)) == [.eventEnd])
    }

    @Test func nothingAfterARequestAskingToCloseIsTaken() {
        var s = EventRouteSequencer()
        var closing = Self.page
        closing.headerFields[.connection] = "close"
        #expect(Self.feed(&s, [closing]).count == 3)
        #expect(Self.feed(&s, [Self.event, Self.page]).isEmpty)
        #expect(!s.hasHeldParts)
        #expect(!s.isHandlingEvent)
        // The same after an event asking to close, once answered.
        var t = EventRouteSequencer()
        var closingEvent = Self.event
        closingEvent.headerFields[.connection] = "close"
        #expect(Self.feed(&t, [closingEvent, Self.page]).last == .eventEnd)
        #expect(t.eventAnswered().isEmpty)
        #expect(!t.hasHeldParts)
    }

    @Test func anEventWithoutItsEndIsDroppedWhenAnotherRequestBegins() {
        var s = EventRouteSequencer()
        _ = s.received(.head(Self.event))
        #expect(s.received(.head(Self.page)) == [.eventAbandoned, .forward(.head(Self.page))])
        #expect(!s.isHandlingEvent)
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSeconds: 1_798_761_600) == "Fri, 01 Jan 2027 00:00:00 GMT")
        #expect(HTTPDate.now().hasSuffix(" GMT"))
    }
}
