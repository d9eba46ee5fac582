#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped into `::ffff:0:0/96`), so that one comparison
/// serves both families.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The 16 bytes in network order.
    public let bytes: [UInt8]
    /// Whether it is an IPv4 address, written as one or IPv4-mapped; ``description`` then writes it dotted.
    public let isIPv4: Bool

    /// Parses an IPv4 or IPv6 address, which may be in brackets and surrounded by spaces or tabs;
    /// nil when it is neither.
    public init?(_ text: some StringProtocol) {
        var text = String(text).trimmingSpaces
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let b = withUnsafeBytes(of: v4.s_addr) { Array($0) }
            self.bytes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + b
            self.isIPv4 = true
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let b = withUnsafeBytes(of: v6) { Array($0) }
            self.bytes = b
            self.isIPv4 = b[0..<10].allSatisfy { $0 == 0 } && b[10] == 0xFF && b[11] == 0xFF
            return
        }
        return nil
    }

    /// The bytes that name one client for limits: the whole address for IPv4, the /64 network for
    /// IPv6 (one subscriber is routinely given a /64, so its 2⁶⁴ addresses are one client).
    public var clientBlock: ArraySlice<UInt8> {
        isIPv4 ? bytes[12...] : bytes[..<8]
    }

    /// Dotted for IPv4; otherwise eight hexadecimal groups, without `::` shortening.
    public var description: String {
        if isIPv4 { return bytes[12...].map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
