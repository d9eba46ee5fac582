import Foundation
import NIOCore

/// A set of visitors as the bytes of a sketch of PostgreSQL's `hll` extension (its storage format,
/// schema version 1), with the extension's default parameters: 2¹¹ registers of 5 bits, the
/// automatic explicit threshold, the sparse representation allowed.
///
/// The archiver builds each rollup row's sketch itself, so that PostgreSQL only merges one sketch
/// per row instead of hashing and adding every visitor of every row (thirteen per event). The sketch
/// is the one `hll_add_agg(analytics_visitor_hash(id))` gives for the same ids: the same hash
/// (MurmurHash3 x64 128-bit, seed 0, of the UUID's 16 bytes, its first 64 bits: what
/// `hll_hash_bytea(uuid_send(id))` computes), the same explicit list up to the threshold, the same
/// registers beyond it (written in the full representation, which the extension reads as it reads
/// its sparse one).
enum VisitorSketch {
    static let log2Registers = 11
    static let registerWidth = 5
    static let registerCount = 1 << log2Registers
    /// The automatic explicit threshold: as many 8-byte ids as fit in the full representation.
    static let explicitLimit = (registerCount * registerWidth + 7) / 8 / 8

    /// The parameter and cutoff bytes that follow the version byte: register width and count;
    /// sparse enabled, explicit threshold automatic (63). They must equal those of the stored
    /// sketches: `hll_union` refuses sketches whose parameters differ.
    static let parameters: [UInt8] = [UInt8((registerWidth - 1) << 5 | log2Registers), 0x40 | 63]

    /// The version byte of each representation: schema version 1, then the type.
    enum Representation: UInt8 {
        case empty = 0x11
        case explicit = 0x12
        case full = 0x14
    }

    /// The sketch of the visitors whose hashes (``hash(_:)``, as signed integers) these are.
    static func sketch(ofHashes hashes: Set<Int64>) -> ByteBuffer {
        let unique = hashes.count
        var buffer = ByteBuffer()
        if unique == 0 {
            buffer.writeInteger(Representation.empty.rawValue)
            buffer.writeBytes(parameters)
        } else if unique <= explicitLimit {
            buffer.reserveCapacity(3 + 8 * unique)
            buffer.writeInteger(Representation.explicit.rawValue)
            buffer.writeBytes(parameters)
            // Signed ascending, as the extension keeps its explicit lists.
            for hash in hashes.sorted() { buffer.writeInteger(hash, endianness: .big) }
        } else {
            buffer.reserveCapacity(3 + registerCount * registerWidth / 8)
            buffer.writeInteger(Representation.full.rawValue)
            buffer.writeBytes(parameters)
            writeRegisters(of: hashes, to: &buffer)
        }
        return buffer
    }

    /// The registers the hashes set, packed `registerWidth` bits each, most significant first.
    private static func writeRegisters(of hashes: some Sequence<Int64>, to buffer: inout ByteBuffer) {
        var registers = [UInt8](repeating: 0, count: registerCount)
        let largest = UInt8((1 << registerWidth) - 1)
        for signed in hashes {
            let hash = UInt64(bitPattern: signed)
            let index = Int(hash & UInt64(registerCount - 1))
            let rest = hash >> log2Registers
            // The position of the lowest set bit of what is left, from 1; 0 when none is.
            let value = rest == 0 ? 0 : UInt8(min(rest.trailingZeroBitCount + 1, Int(largest)))
            if registers[index] < value { registers[index] = value }
        }
        var accumulator: UInt64 = 0
        var bits = 0
        for register in registers {
            accumulator = accumulator << registerWidth | UInt64(register)
            bits += registerWidth
            while bits >= 8 {
                bits -= 8
                buffer.writeInteger(UInt8(truncatingIfNeeded: accumulator >> bits))
            }
        }
        if bits > 0 { buffer.writeInteger(UInt8(truncatingIfNeeded: accumulator << (8 - bits))) }
    }

    /// MurmurHash3 x64 128-bit of the UUID's 16 bytes with seed 0, its first 64 bits: the
    /// extension's `hll_hash_bytea(uuid_send(id))`.
    static func hash(_ id: UUID) -> UInt64 {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5
        let c2: UInt64 = 0x4cf5_ad43_2745_937f
        let bytes = id.uuid
        // The two 8-byte blocks, read little-endian as the extension does on the machines it runs on.
        let k1 = withUnsafeBytes(of: bytes) { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        let k2 = withUnsafeBytes(of: bytes) { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        var h1: UInt64 = 0
        var h2: UInt64 = 0
        h1 ^= (k1 &* c1).rotatedLeft(31) &* c2
        h1 = (h1.rotatedLeft(27) &+ h2) &* 5 &+ 0x52dc_e729
        h2 ^= (k2 &* c2).rotatedLeft(33) &* c1
        h2 = (h2.rotatedLeft(31) &+ h1) &* 5 &+ 0x3849_5ab5
        h1 ^= 16
        h2 ^= 16
        h1 = h1 &+ h2
        h2 = h2 &+ h1
        h1 = finalMix(h1)
        h2 = finalMix(h2)
        return h1 &+ h2
    }

    private static func finalMix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 - count))
    }
}
