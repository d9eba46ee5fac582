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

    public init() {}

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

/// xoshiro256** (Blackman and Vigna): a fast, well-distributed generator for non-secret randomness.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: some RandomNumberGenerator) {
        var seed = seed
        repeat {
            s = (seed.next(), seed.next(), seed.next(), seed.next())
        } while s == (0, 0, 0, 0)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
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

    /// Parses the canonical 36-character form (either case) without Foundation's `sscanf`-based
    /// parser, which dominated the consumers' profiles.
    public init?(canonical text: String) {
        var text = text
        let parsed: UUID? = text.withUTF8 { utf8 -> UUID? in
            guard utf8.count == 36, utf8[8] == 0x2D, utf8[13] == 0x2D, utf8[18] == 0x2D, utf8[23] == 0x2D else { return nil }
            var bytes = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
                         UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
            let ok = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var o = 0
                var i = 0
                while i < 36 {
                    if i == 8 || i == 13 || i == 18 || i == 23 { i += 1; continue }
                    guard let high = Self.hexValue(utf8[i]), let low = Self.hexValue(utf8[i + 1]) else { return false }
                    out[o] = high << 4 | low
                    o += 1
                    i += 2
                }
                return true
            }
            return ok ? UUID(uuid: bytes) : nil
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
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
