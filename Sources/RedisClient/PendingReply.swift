import Synchronization

/// What receives the replies of one request, or its ``RedisError``: called exactly once, on the
/// client's worker thread or its deadline reaper (or on the caller's thread when the client is
/// already shut down). Keep it short: the worker serves no other request meanwhile.
public typealias RedisReplyHandler = @Sendable (Result<[RedisValue], any Error>) -> Void

/// The answer to one request, given exactly once by whoever gets there first: the worker with the
/// replies, or the deadline reaper with a timeout. Tracks whether the request was written, so a
/// timeout says truthfully whether the commands may have run.
final class PendingReply: Sendable {
    /// A task awaiting the replies, or a handler called with them.
    enum Receiver: Sendable {
        case continuation(CheckedContinuation<[RedisValue], any Error>)
        case handler(RedisReplyHandler)

        func deliver(_ result: Result<[RedisValue], any Error>) {
            switch self {
            case .continuation(let c): c.resume(with: result)
            case .handler(let h): h(result)
            }
        }
    }

    private enum Phase {
        /// The receiver is nil for a request nobody awaits.
        case queued(Receiver?)
        case sent(Receiver?)
        case resolved
    }

    private let phase: Mutex<Phase>

    init(_ receiver: Receiver?) {
        phase = Mutex(.queued(receiver))
    }

    var isResolved: Bool {
        phase.withLock { if case .resolved = $0 { true } else { false } }
    }

    /// Moves a queued request to sent; false if it was already answered (then it must not be written).
    func markSent() -> Bool {
        phase.withLock { phase in
            guard case .queued(let c) = phase else { return false }
            phase = .sent(c)
            return true
        }
    }

    func resolve(_ result: Result<[RedisValue], any Error>) {
        let receiver = phase.withLock { phase -> Receiver? in
            switch phase {
            case .queued(let c), .sent(let c):
                phase = .resolved
                return c
            case .resolved:
                return nil
            }
        }
        receiver?.deliver(result)
    }

    /// Answers only a request that was never written.
    func resolveIfQueued(_ result: Result<[RedisValue], any Error>) {
        let receiver = phase.withLock { phase -> Receiver? in
            guard case .queued(let c) = phase else { return nil }
            phase = .resolved
            return c
        }
        receiver?.deliver(result)
    }
}
