#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A CIDR block such as `10.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
public struct IPNetwork: Sendable, Hashable {
    /// The address as written; bits past the prefix are kept but ignored by ``contains(_:)``.
    public let address: IPAddress
    /// Prefix length over the 128-bit form.
    public let prefixLength: Int

    /// Parses `address` or `address/prefix`. The prefix counts bits of the notation used: `/8` of an
    /// IPv4 address is `/104` of its 128-bit form. nil when the address or the prefix is invalid.
    public init?(_ text: some StringProtocol) {
        let parts = String(text).trimmingSpaces.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0].trimmed(of: " \t")) else { return nil }
        // The prefix counts bits of the notation used: `10.0.0.0/8`, but `::ffff:10.0.0.0/104`.
        let writtenAsIPv4 = !parts[0].contains(":")
        let maxBits = writtenAsIPv4 ? 32 : 128
        var bits = maxBits
        if parts.count == 2 {
            guard let n = Int(parts[1].trimmed(of: " \t")), (0...maxBits).contains(n) else { return nil }
            bits = n
        }
        self.address = address
        self.prefixLength = writtenAsIPv4 ? bits + 96 : bits
    }

    /// Whether `other` lies in the block. An IPv4 address and its IPv4-mapped IPv6 form match the same
    /// blocks.
    public func contains(_ other: IPAddress) -> Bool {
        var remaining = prefixLength
        for i in 0..<16 where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if address.bytes[i] & mask != other.bytes[i] & mask { return false }
            remaining -= take
        }
        return true
    }
}
