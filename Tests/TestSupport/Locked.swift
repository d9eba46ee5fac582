import Foundation
import ServiceSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A value shared between test tasks (a class around a `Mutex`, which cannot be captured itself).
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    public var value: Value { mutex.withLock { $0 } }

    public func withLock<R>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }
}
