import Foundation
import Synchronization

/// Generates time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then a 12-bit
/// counter that keeps ids from one generator strictly increasing within a millisecond, then 62 random
/// bits. Sequential ids keep PostgreSQL's primary-key index inserts at the right edge of the tree.
public final class UUIDv7Generator: Sendable {
    private struct State {
        var lastMilliseconds: Int64 = 0
        var counter: UInt16 = 0
        /// Seeded once from the system: ids need to be unpredictable enough not to collide, not
        /// secret, and a `getrandom` system call per event showed up in the gateway's profile.
        var random = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
    }

    private let state = Mutex(State())

    /// A generator seeded from the system's random source.
    public init() {}

    /// A new id, greater than every id this generator returned before, even when the clock steps
    /// back or more than 4,096 ids are asked for within a millisecond (the ids' time then runs a little
    /// ahead of the clock).
    /// - Parameter nowMilliseconds: the current Unix time in milliseconds; given by tests.
    public func next(nowMilliseconds: Int64 = EpochClock.milliseconds()) -> UUID {
        let (ms, counter, random) = state.withLock { state -> (Int64, UInt16, UInt64) in
            let random = state.random.next()
            if nowMilliseconds > state.lastMilliseconds {
                state.lastMilliseconds = nowMilliseconds
                state.counter = UInt16(truncatingIfNeeded: state.random.next() >> 54)  // 0..<0x400: room to count up
            } else if state.counter < 0xFFF {
                state.counter += 1
            } else {
                // 4096 ids in one millisecond: borrow the next millisecond rather than repeat.
                state.lastMilliseconds += 1
                state.counter = 0
            }
            return (state.lastMilliseconds, state.counter, random)
        }
        return Self.make(milliseconds: ms, counter: counter, random: random)
    }

    static func make(milliseconds ms: Int64, counter: UInt16, random: UInt64) -> UUID {
        let t = UInt64(ms)
        let randB = random & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000  // variant 10
        return UUID(
            uuid: (
                UInt8(truncatingIfNeeded: t >> 40), UInt8(truncatingIfNeeded: t >> 32),
                UInt8(truncatingIfNeeded: t >> 24), UInt8(truncatingIfNeeded: t >> 16),
                UInt8(truncatingIfNeeded: t >> 8), UInt8(truncatingIfNeeded: t),
                0x70 | UInt8(counter >> 8), UInt8(truncatingIfNeeded: counter),
                UInt8(truncatingIfNeeded: randB >> 56), UInt8(truncatingIfNeeded: randB >> 48),
                UInt8(truncatingIfNeeded: randB >> 40), UInt8(truncatingIfNeeded: randB >> 32),
                UInt8(truncatingIfNeeded: randB >> 24), UInt8(truncatingIfNeeded: randB >> 16),
                UInt8(truncatingIfNeeded: randB >> 8), UInt8(truncatingIfNeeded: randB)
            ))
    }
}
