/// Counts of messages within a sliding one-second window; remembers the highest.
struct SlidingSecondCounter {
    private var times: [UInt64] = []
    private var head = 0
    private(set) var maximum = 0

    mutating func add(_ t: UInt64) {
        times.append(t)
        while times[head] + 1_000_000_000 <= t { head += 1 }
        maximum = max(maximum, times.count - head)
        if head > 256 {
            times.removeFirst(head)
            head = 0
        }
    }
}
