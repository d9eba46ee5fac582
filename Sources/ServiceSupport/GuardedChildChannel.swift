import HummingbirdCore
import Logging
import NIOCore

/// A Hummingbird child channel with a ``HandshakeGuard`` in front of everything it sets up, so that
/// the guard sees a connection's bytes before the HTTP codecs (and after a WebSocket upgrade
/// replaced them).
public struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Inner.Value

    let inner: Inner
    let timeouts: ConnectionDeadlines.Timeouts

    /// - Parameters:
    ///   - inner: the channel setup to guard.
    ///   - timeouts: the handshake (header) and idle timeouts.
    public init(_ inner: Inner, timeouts: ConnectionDeadlines.Timeouts) {
        self.inner = inner
        self.timeouts = timeouts
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(HandshakeGuard(timeouts: timeouts))
        }.flatMap {
            inner.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
