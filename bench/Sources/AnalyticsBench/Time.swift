import Foundation
import NIOCore

/// A duration in seconds.
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// A duration as `1.23 s`.
func format(_ d: Duration) -> String {
    String(format: "%.2f s", seconds(d))
}

/// Unix time in µs: what the events' `timestamp` (the gateway's clock, same machine) is compared with.
@inline(__always) func wallMicroseconds() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
}

/// Monotonic time in ns (NIO's clock): arrival times and intervals within one run.
@inline(__always) func monotonicNanoseconds() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds
}
