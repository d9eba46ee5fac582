import CMalloc

/// glibc allocator settings for processes that read large batches from Redis.
public enum AllocatorTuning {
    /// Turns glibc's fast bins off (`mallopt(M_MXFAST, 0)`); call it once, at the start of the process.
    ///
    /// Every batch frees tens of thousands of small objects (hiredis replies and their Swift copies)
    /// and then asks for large blocks; with fast bins, each large request first consolidated all of
    /// them (`malloc_consolidate` showed high in the aggregator's profile). Without fast bins, the
    /// per-thread caches still serve the small blocks.
    public static func forLargeBatches() {
        _ = mallopt(M_MXFAST, 0)
    }
}
