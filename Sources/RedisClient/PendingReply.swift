import Synchronization

/// The answer to one request, given exactly once by whoever gets there first: the worker with the
/// replies, or the deadline reaper with a timeout. Tracks whether the request was written, so a
/// timeout says truthfully whether the commands may have run.
final class PendingReply: Sendable {
    private enum Phase {
        /// The continuation is nil for a request nobody awaits.
        case queued(CheckedContinuation<[RedisValue], any Error>?)
        case sent(CheckedContinuation<[RedisValue], any Error>?)
        case resolved
    }

    private let phase: Mutex<Phase>

    init(_ continuation: CheckedContinuation<[RedisValue], any Error>?) {
        phase = Mutex(.queued(continuation))
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
        let continuation = phase.withLock { phase -> CheckedContinuation<[RedisValue], any Error>? in
            switch phase {
            case .queued(let c), .sent(let c):
                phase = .resolved
                return c
            case .resolved:
                return nil
            }
        }
        continuation?.resume(with: result)
    }

    /// Answers only a request that was never written.
    func resolveIfQueued(_ result: Result<[RedisValue], any Error>) {
        let continuation = phase.withLock { phase -> CheckedContinuation<[RedisValue], any Error>? in
            guard case .queued(let c) = phase else { return nil }
            phase = .resolved
            return c
        }
        continuation?.resume(with: result)
    }
}
