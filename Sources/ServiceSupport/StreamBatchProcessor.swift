import RedisClient

/// What a consumer group's worker does with the entries its ``StreamConsumer`` reads: the consumer
/// owns the loop (recovery, claims, timing, backoff, liveness, stop), the processor the meaning.
/// The aggregator's and the archiver's processors are the two implementations.
public protocol StreamBatchProcessor: Sendable {
    /// Processes a batch and acknowledges its entries. It must be exact under re-delivery: after a
    /// crash or an error the same entries come again (from this consumer's pending list, or claimed
    /// by another consumer), and must not count twice.
    ///
    /// Returning normally means every entry is acknowledged, those it cannot use included (sent to
    /// the dead-letter stream): the recovery re-reads this consumer's pending list until it is empty.
    ///
    /// When the consumer allows several batches in flight, calls overlap.
    /// - Throws: when the batch could not be processed; its entries stay pending and are recovered.
    func process(_ entries: [RedisStreamEntry]) async throws

    /// Periodic work beside the batches (proof of life for the gateway's readiness, gauges,
    /// maintenance), every ``StreamConsumerSchedule/Timing/housekeepingInterval``. It never runs during
    /// recovery or claims, but may overlap the batches in flight.
    /// - Throws: to make the consumer back off and recover, as after a failed batch.
    func housekeeping() async throws
}
