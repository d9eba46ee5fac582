import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Keeps one HTTP/1 connection's answers in request order when its event POSTs are answered by
/// ``EventRouteHandler`` and every other request by Hummingbird further down the pipeline. A
/// request that would overtake the one before it (a pipelined client) is held until that one is
/// answered. Pure state: the handler feeds it the connection's parts and carries out the actions it
/// returns.
struct EventRouteSequencer {
    /// What the handler is to do with the parts it fed in.
    enum Action: Equatable {
        /// Pass the part on to Hummingbird.
        case forward(HTTPRequestPart)
        /// An event POST begins; its body follows as ``eventBody(_:)``, then ``eventEnd``.
        case eventHead(HTTPRequest)
        /// A piece of the event's body.
        case eventBody(ByteBuffer)
        /// The event's request is complete: answer it, then call
        /// ``EventRouteSequencer/eventAnswered()``.
        case eventEnd
        /// The event's request ended before its end (a malformed request): drop it unanswered.
        case eventAbandoned
    }

    private enum Phase: Equatable {
        case idle
        /// A request handed to Hummingbird is still being read.
        case forwarding
        case readingEvent
        case answeringEvent
        /// A request asked for the connection to end after it: nothing after it is taken.
        case finished
    }

    private var phase = Phase.idle
    /// Requests handed to Hummingbird whose response has not ended yet.
    private(set) var unansweredForwarded = 0
    private var held = CircularBuffer<HTTPRequestPart>()
    /// The request being read asked for `Connection: close`.
    private var lastRequest = false

    /// An event POST is being read or answered here.
    var isHandlingEvent: Bool { phase == .readingEvent || phase == .answeringEvent }

    /// Parts wait that ``drain()`` may now let through.
    var hasHeldParts: Bool { !held.isEmpty }

    /// The requests this handler answers itself: `POST /api/analytics/event`, as Hummingbird's
    /// router would match it (query ignored, empty path components too).
    static func isEventRoute(_ request: HTTPRequest) -> Bool {
        guard request.method == .post, let target = request.path else { return false }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        if path == EventRouteHandler.endpoint { return true }
        return path.split(separator: "/", omittingEmptySubsequences: true) == ["api", "analytics", "event"]
    }

    /// Hummingbird's test for the end of a connection after a request (exactly `close`).
    static func asksToClose(_ request: HTTPRequest) -> Bool {
        request.headerFields[.connection] == "close"
    }

    /// Takes the next part read off the connection.
    /// - Returns: what the handler is to do now, in order; nothing when the part has to wait.
    mutating func received(_ part: HTTPRequestPart) -> [Action] {
        var actions: [Action] = []
        if held.isEmpty, take(part, into: &actions) { return actions }
        held.append(part)
        return actions
    }

    /// The answer to the event POST has been written.
    mutating func eventAnswered() -> [Action] {
        precondition(phase == .answeringEvent, "no event is being answered")
        phase = lastRequest ? .finished : .idle
        return drain()
    }

    /// The connection failed while an event's request was being read: it will not be answered.
    mutating func abandonEvent() {
        if phase == .readingEvent { phase = .idle }
    }

    /// Reading an event's request, as opposed to waiting for its answer.
    var isReadingEvent: Bool { phase == .readingEvent }

    /// Hummingbird has written the end of a response.
    mutating func forwardedResponseEnded() {
        unansweredForwarded = max(0, unansweredForwarded - 1)
    }

    /// Lets through the held parts that may go now, in order.
    mutating func drain() -> [Action] {
        var actions: [Action] = []
        while let part = held.first, take(part, into: &actions) {
            held.removeFirst()
        }
        return actions
    }

    /// Acts on the part if it may go now; false if it has to wait.
    private mutating func take(_ part: HTTPRequestPart, into actions: inout [Action]) -> Bool {
        switch (phase, part) {
        case (.finished, _):
            // As Hummingbird does after `Connection: close`: what follows is not read.
            break
        case (.answeringEvent, _):
            return false
        case (.forwarding, .end):
            phase = lastRequest ? .finished : .idle
            actions.append(.forward(part))
        case (.forwarding, _):
            actions.append(.forward(part))
        case (.readingEvent, .body(let buffer)):
            actions.append(.eventBody(buffer))
        case (.readingEvent, .end):
            phase = .answeringEvent
            actions.append(.eventEnd)
        case (.readingEvent, .head):
            // NIO's decoder ends a request before the next head; should one come, the event
            // without an end is dropped rather than the connection stuck.
            phase = .idle
            actions.append(.eventAbandoned)
            return take(part, into: &actions)
        case (.idle, .head(let head)) where Self.isEventRoute(head):
            // Hummingbird answers in order; an event answered here must not overtake it.
            guard unansweredForwarded == 0 else { return false }
            phase = .readingEvent
            lastRequest = Self.asksToClose(head)
            actions.append(.eventHead(head))
        case (.idle, .head(let head)):
            unansweredForwarded += 1
            phase = .forwarding
            lastRequest = Self.asksToClose(head)
            actions.append(.forward(part))
        case (.idle, .body), (.idle, .end):
            actions.append(.forward(part))
        }
        return true
    }
}
