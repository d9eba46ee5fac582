import Foundation
import Synchronization

/// Generates time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then a 12-bit
/// counter that keeps ids from one generator strictly increasing within a millisecond, then 62 random
/// bits. Sequential ids keep PostgreSQL's primary-key index inserts at the right edge of the tree.
public final class UUIDv7Generator: Sendable {
    private struct State {
        var lastMilliseconds: Int64 = 0
        var counter: UInt16 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func next(nowMilliseconds: Int64 = EpochClock.milliseconds()) -> UUID {
        let (ms, counter) = state.withLock { state -> (Int64, UInt16) in
            if nowMilliseconds > state.lastMilliseconds {
                state.lastMilliseconds = nowMilliseconds
                state.counter = UInt16.random(in: 0..<0x400)
            } else if state.counter < 0xFFF {
                state.counter += 1
            } else {
                // 4096 ids in one millisecond: borrow the next millisecond rather than repeat.
                state.lastMilliseconds += 1
                state.counter = 0
            }
            return (state.lastMilliseconds, state.counter)
        }
        return Self.make(milliseconds: ms, counter: counter, random: UInt64.random(in: .min ... .max))
    }

    static func make(milliseconds ms: Int64, counter: UInt16, random: UInt64) -> UUID {
        let t = UInt64(ms)
        let randB = random & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000  // variant 10
        return UUID(uuid: (
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

extension UUID {
    /// The canonical lower-case text form (Foundation's `uuidString` is upper case).
    public var lowercasedString: String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        withUnsafeBytes(of: uuid) { raw in
            for (i, byte) in raw.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Milliseconds since the epoch carried by a version-7 UUID.
    public var version7Milliseconds: Int64? {
        guard uuid.6 >> 4 == 7 else { return nil }
        var t: UInt64 = 0
        withUnsafeBytes(of: uuid) { raw in
            for i in 0..<6 { t = t << 8 | UInt64(raw[i]) }
        }
        return Int64(t)
    }
}

/// Wall-clock time in Unix milliseconds (UTC by definition).
public enum EpochClock {
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
