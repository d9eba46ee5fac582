import Dispatch
import Synchronization

/// Monotonic nanoseconds, the clock of ``ClientRateLimiter``: unlike the wall clock it never steps
/// back, so a clock change cannot hand out or take away allowances.
public enum DispatchTimeNanoseconds {
    /// Nanoseconds on `DispatchTime`'s monotonic clock; only differences between two readings mean
    /// anything.
    public static func now() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds
    }
}
