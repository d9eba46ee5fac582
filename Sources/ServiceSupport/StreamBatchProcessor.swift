import RedisClient

/// What a consumer group's worker does with the entries its `StreamConsumer` reads: the consumer
/// owns the loop (recovery, claims, timing, backoff, liveness, stop), the processor the meaning.
public protocol StreamBatchProcessor: Sendable {
    /// Processes a batch and acknowledges its entries. It must be exact under re-delivery: after a
    /// crash or an error the same entries come again (from this consumer's pending list, or claimed
    /// by another consumer), and must not count twice.
    ///
    /// When the consumer allows several batches in flight, calls overlap.
    /// - Throws: when the batch could not be processed; its entries stay pending and are recovered.
    func process(_ entries: [RedisStreamEntry]) async throws

    /// Periodic work beside the batches (proof of life for the gateway's readiness, gauges,
    /// maintenance), every `StreamConsumerSchedule.Timing.housekeepingInterval`.
    /// - Throws: to make the consumer back off and recover, as after a failed batch.
    func housekeeping() async throws
}
