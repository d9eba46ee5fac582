import AnalyticsCore
import Foundation
import Testing

@Suite("UUIDv7Generator")
struct UUIDv7Tests {
    private func version(_ id: UUID) -> UInt8 { id.uuid.6 >> 4 }
    private func variant(_ id: UUID) -> UInt8 { id.uuid.8 >> 6 }

    @Test(arguments: [0, 1, 1_795_737_600_123, 0xFFFF_FFFF_FFFF] as [Int64])
    func layout(milliseconds: Int64) {
        let id = UUIDv7Generator().next(nowMilliseconds: milliseconds)
        #expect(version(id) == 7)
        #expect(variant(id) == 0b10)
        #expect(id.version7Milliseconds == milliseconds)
    }

    @Test func timestampIsBigEndianInTheFirstSixBytes() {
        let id = UUIDv7Generator().next(nowMilliseconds: 0x0123_4567_89AB)
        #expect(id.uuid.0 == 0x01 && id.uuid.1 == 0x23 && id.uuid.2 == 0x45)
        #expect(id.uuid.3 == 0x67 && id.uuid.4 == 0x89 && id.uuid.5 == 0xAB)
        #expect(id.lowercasedString.hasPrefix("01234567-89ab-7"))
    }

    @Test func version7MillisecondsIsNilForOtherVersions() throws {
        let v4 = try #require(UUID(uuidString: "6ba7b810-9dad-41d1-80b4-00c04fd430c8"))
        #expect(v4.version7Milliseconds == nil)
        let v7 = try #require(UUID(uuidString: "01936f5e-1c2d-7a3b-8c4d-5e6f708192a3"))
        #expect(v7.version7Milliseconds == 0x0193_6f5e_1c2d)
    }

    @Test func tenThousandIdsInOneMillisecondAreStrictlyIncreasing() {
        let generator = UUIDv7Generator()
        let ms: Int64 = 1_795_737_600_000
        var previous = ""
        var ordered = true
        var ids = Set<String>()
        var lastMs: Int64 = 0
        for i in 0..<10_000 {
            let id = generator.next(nowMilliseconds: ms)
            let text = id.lowercasedString
            if i > 0 && !(previous < text) {
                ordered = false
                Issue.record("id \(i) \(text) not after \(previous)")
                break
            }
            #expect(version(id) == 7 && variant(id) == 0b10)
            let t = id.version7Milliseconds ?? -1
            #expect(t >= ms && t >= lastMs)
            lastMs = t
            previous = text
            ids.insert(text)
        }
        #expect(ordered)
        #expect(ids.count == 10_000)
        // 10,000 ids cannot fit one millisecond's 12-bit counter (at most 4,096, at least 3,073 after the
        // random start below 0x400): later ones borrow the next milliseconds, exactly two of them.
        #expect(lastMs == ms + 2)
    }

    @Test func idsAreIncreasingAcrossMillisecondsAndWhenTheClockStepsBack() {
        let generator = UUIDv7Generator()
        var previous = ""
        let times: [Int64] = [1_000, 1_000, 1_001, 1_005, 1_005, 1_004, 999, 2_000, 1_500, 2_001]
        for (i, ms) in times.enumerated() {
            let id = generator.next(nowMilliseconds: ms)
            let text = id.lowercasedString
            #expect(previous < text, "id \(i) at \(ms)")
            previous = text
        }
        // A clock that stepped back keeps the last millisecond rather than going back with it.
        let afterStep = generator.next(nowMilliseconds: 10)
        #expect(afterStep.version7Milliseconds == 2_001)
        let forward = generator.next(nowMilliseconds: 3_000)
        #expect(forward.version7Milliseconds == 3_000)
    }

    @Test func independentGeneratorsDoNotCollide() {
        let a = UUIDv7Generator()
        let b = UUIDv7Generator()
        var all = Set<UUID>()
        for _ in 0..<1_000 {
            all.insert(a.next(nowMilliseconds: 7))
            all.insert(b.next(nowMilliseconds: 7))
        }
        #expect(all.count == 2_000)
    }

    @Test func defaultClockIsNow() {
        let before = EpochClock.milliseconds()
        let id = UUIDv7Generator().next()
        let after = EpochClock.milliseconds()
        let t = id.version7Milliseconds ?? 0
        #expect(t >= before && t <= after)
        #expect(before > 1_700_000_000_000)  // a real Unix time in milliseconds, not seconds
    }

    @Test func lowercasedStringFormat() throws {
        let id = try #require(UUID(uuidString: "A1B2C3D4-E5F6-4789-8ABC-DEF012345678"))
        #expect(id.lowercasedString == "a1b2c3d4-e5f6-4789-8abc-def012345678")
        #expect(
            UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).lowercasedString
                == "00000000-0000-0000-0000-000000000000")
        let generated = UUIDv7Generator().next(nowMilliseconds: 1_795_737_600_123)
        let text = generated.lowercasedString
        #expect(text == generated.uuidString.lowercased())
        #expect(text.utf8.count == 36)
        let dashes = text.utf8.enumerated().filter { $0.element == UInt8(ascii: "-") }.map(\.offset)
        #expect(dashes == [8, 13, 18, 23])
        #expect(text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == 0x2D })
        #expect(UUID(uuidString: text) == generated)
    }

    // MARK: canonical parsing

    @Test func canonicalParsingRoundTrips() throws {
        let generated = UUIDv7Generator().next(nowMilliseconds: 1_795_737_600_123)
        #expect(UUID(canonical: generated.lowercasedString) == generated)
        #expect(UUID(canonical: generated.uuidString) == generated)  // upper case
        let mixed = "A1b2C3d4-e5F6-4789-8aBc-DEF012345678"
        #expect(UUID(canonical: mixed) == UUID(uuidString: mixed))
        #expect(UUID(canonical: "00000000-0000-0000-0000-000000000000") == UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        #expect(UUID(canonical: "ffffffff-ffff-ffff-ffff-ffffffffffff")?.lowercasedString == "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }

    @Test(arguments: [
        "", "a1b2c3d4-e5f6-4789-8abc-def01234567", "a1b2c3d4-e5f6-4789-8abc-def0123456789",
        "a1b2c3d4e5f6-4789-8abc-def0123456789", "a1b2c3d4-e5f64-789-8abc-def012345678",
        "g1b2c3d4-e5f6-4789-8abc-def012345678", "a1b2c3d4-e5f6-4789-8abc-def01234567 ",
        " a1b2c3d4-e5f6-4789-8abc-def01234567", "{1b2c3d4-e5f6-4789-8abc-def0123456}",
        "a1b2c3d4_e5f6_4789_8abc_def012345678", "a1b2c3d4-e5f6-4789-8abc-déf01234567",
        "a1b2c3d4-e5f6-4789-8abc-+ef012345678",
    ])
    func canonicalParsingRefusesOtherForms(text: String) {
        #expect(UUID(canonical: text) == nil)
    }

    // MARK: Xoshiro256StarStar

    @Test func xoshiroGeneratorsSeededFromTheSystemDiffer() {
        var a = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
        var b = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
        let first = (0..<8).map { _ in a.next() }
        let second = (0..<8).map { _ in b.next() }
        #expect(first != second)
        #expect(Set(first).isDisjoint(with: second))
    }

    @Test func xoshiroValuesAreNotConstant() {
        var generator = Xoshiro256StarStar(seed: SystemRandomNumberGenerator())
        let values = (0..<1_000).map { _ in generator.next() }
        #expect(Set(values).count == 1_000)
        // Every bit takes both values over 1,000 draws (a stuck bit would have probability 2^-999).
        let ored = values.reduce(UInt64(0), |)
        let anded = values.reduce(UInt64.max, &)
        #expect(ored == .max)
        #expect(anded == 0)
        // Usable as a RandomNumberGenerator.
        let draws = (0..<100).map { _ in Int.random(in: 0..<10, using: &generator) }
        #expect(draws.allSatisfy { (0..<10).contains($0) })
        #expect(Set(draws).count > 1)
    }

    /// A seed source that repeats a fixed sequence, to make the generator deterministic.
    private struct FixedSeed: RandomNumberGenerator {
        var values: [UInt64]
        var index = 0
        mutating func next() -> UInt64 {
            defer { index += 1 }
            return values[index % values.count]
        }
    }

    @Test func xoshiroIsDeterministicForASeedAndRefusesTheAllZeroState() {
        var a = Xoshiro256StarStar(seed: FixedSeed(values: [1, 2, 3, 4]))
        var b = Xoshiro256StarStar(seed: FixedSeed(values: [1, 2, 3, 4]))
        let first = (0..<16).map { _ in a.next() }
        #expect(first == (0..<16).map { _ in b.next() })
        // Reference output of xoshiro256** for the state (1, 2, 3, 4) (Blackman and Vigna's C code).
        #expect(Array(first.prefix(4)) == [11_520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
        // An all-zero state would output zeros forever: the seed is drawn again.
        var zeroThenSeed = Xoshiro256StarStar(seed: FixedSeed(values: [0, 0, 0, 0, 5, 6, 7, 8]))
        let values = (0..<8).map { _ in zeroThenSeed.next() }
        #expect(values.contains { $0 != 0 })
    }
}
