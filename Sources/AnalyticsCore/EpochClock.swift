import Foundation
import Synchronization

/// Wall-clock time in Unix milliseconds (UTC by definition): the time events are stamped and
/// bucketed with.
public enum EpochClock {
    /// The current `CLOCK_REALTIME`. Wall-clock time may step backwards; ``UUIDv7Generator`` keeps its
    /// ids increasing regardless.
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
