import NIOCore
import Synchronization

/// One dashboard connection's outgoing side: a bounded queue of encoded messages, filled by the
/// hub without ever waiting, and drained by the connection's own writer task, which alone waits on
/// the socket. A client whose queue is full is closed: it cannot keep up, and holding its messages
/// would cost memory; the others are not affected.
public final class HubClient: Sendable {
    public enum CloseReason: Sendable, Equatable {
        /// Fell behind until its queue filled (WebSocket close code 1013, try again later).
        case tooSlow
        /// The hub is stopping (1001, going away).
        case goingAway
    }

    private struct State {
        var queue: [ByteBuffer] = []
        var head = 0
        var waiter: CheckedContinuation<ByteBuffer?, Never>?
        var closed: CloseReason?
        var finished = false
    }

    public let id: Int
    public let capacity: Int
    private let state = Mutex(State())

    public init(id: Int, capacity: Int) {
        self.id = id
        self.capacity = capacity
    }

    public enum EnqueueResult: Sendable, Equatable {
        case queued
        /// The queue was full: the client is now closed as too slow.
        case overflowed
        /// Already closed or gone.
        case closed
    }

    /// Queues a message without waiting; a full queue closes the client.
    @discardableResult
    public func enqueue(_ message: ByteBuffer) -> EnqueueResult {
        let (waiter, result) = state.withLock { state -> (CheckedContinuation<ByteBuffer?, Never>?, EnqueueResult) in
            guard state.closed == nil, !state.finished else { return (nil, .closed) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, .queued)
            }
            guard state.queue.count - state.head < capacity else {
                state.closed = .tooSlow
                state.queue.removeAll()
                state.head = 0
                return (nil, .overflowed)
            }
            state.queue.append(message)
            return (nil, .queued)
        }
        waiter?.resume(returning: message)
        return result
    }

    /// The next message to write; nil once the client is closed (see `closeReason`) or finished.
    public func next() async -> ByteBuffer? {
        await withCheckedContinuation { continuation in
            let ready: ByteBuffer?? = state.withLock { state in
                // A closed client writes nothing more (a slow one is closed because it cannot).
                if state.closed != nil { return .some(nil) }
                if state.head < state.queue.count {
                    let message = state.queue[state.head]
                    state.head += 1
                    if state.head == state.queue.count {
                        state.queue.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    return .some(message)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    public var closeReason: CloseReason? { state.withLock { $0.closed } }
    public var queued: Int { state.withLock { $0.queue.count - $0.head } }

    /// Closes the client for `reason` (its writer ends after the messages already written).
    public func close(_ reason: CloseReason) {
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, Never>? in
            if state.closed == nil { state.closed = reason }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The peer went away: nothing more to write.
    public func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
