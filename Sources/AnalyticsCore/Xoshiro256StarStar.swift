import Foundation
import Synchronization

/// xoshiro256** (Blackman and Vigna): a fast, well-distributed generator for non-secret randomness,
/// such as the random bits of ``UUIDv7Generator``'s ids. Never use it for secrets.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the state with four values from `seed`, drawn again if all four are zero (the one state the
    /// generator never leaves).
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
