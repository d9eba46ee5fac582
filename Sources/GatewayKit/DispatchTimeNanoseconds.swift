import Dispatch
import Synchronization

/// Monotonic nanoseconds.
public enum DispatchTimeNanoseconds {
    public static func now() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds
    }
}
