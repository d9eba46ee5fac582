import Prometheus
import ServiceSupport

/// The archiver's Prometheus metrics (the stream gauges come from `StreamHealth`): batches, stored and
/// duplicate events, dead letters, PostgreSQL's state, stream trimming and the retention pass.
/// Recorded by ``ArchivingProcessor``, ``RetentionPass`` and ``RetentionScheduler``.
public final class ArchiverMetrics: Sendable {
    let batchSize: ValueHistogram
    let batchDuration: DurationHistogram
    let stored: Counter
    let duplicates: Counter
    let deadLetters: Counter
    let postgresErrors: Counter
    let postgresUp: Gauge
    let trimmed: Counter
    let retentionRuns: Counter
    let retentionFailures: Counter
    let retentionLastSuccess: Gauge
    let daysArchived: Counter
    let daysRemoved: Counter
    let filesNotDeleted: Counter
    let dayDropDuration: DurationHistogram

    /// Registers the metrics in `registry`, so they are exposed before the first batch.
    public init(registry: MetricsRegistry) {
        let p = registry.prometheus
        batchSize = p.makeValueHistogram(
            name: "analytics_archiver_batch_size", buckets: MetricsRegistry.batchSizeBuckets,
            help: "Stream entries per batch written to PostgreSQL")
        batchDuration = p.makeDurationHistogram(
            name: "analytics_archiver_batch_duration_seconds", buckets: MetricsRegistry.latencyBuckets,
            help: "Time to store one batch in PostgreSQL (one transaction) and acknowledge it")
        stored = p.makeCounter(name: "analytics_archiver_events_stored_total", help: "Events inserted into PostgreSQL")
        duplicates = p.makeCounter(
            name: "analytics_archiver_events_duplicate_total",
            help: "Events delivered again that PostgreSQL already held (skipped by ON CONFLICT DO NOTHING)")
        deadLetters = p.makeCounter(
            name: "analytics_archiver_dead_letters_total",
            help: "Stream entries that could not be stored and went to the dead-letter stream")
        postgresErrors = p.makeCounter(
            name: "analytics_archiver_postgres_errors_total", help: "Failed attempts to store a batch (retried with backoff)")
        postgresUp = p.makeGauge(name: "analytics_archiver_postgres_up", help: "1 when the last PostgreSQL write succeeded")
        trimmed = p.makeCounter(
            name: "analytics_stream_trimmed_entries_total",
            help: "Stream entries removed below what every consumer group acknowledged")
        retentionRuns = p.makeCounter(name: "analytics_retention_runs_total", help: "Retention and archive passes completed")
        retentionFailures = p.makeCounter(name: "analytics_retention_failures_total", help: "Retention passes that failed (retried)")
        retentionLastSuccess = p.makeGauge(
            name: "analytics_retention_last_success_timestamp_seconds", help: "Unix time of the last completed retention pass")
        daysArchived = p.makeCounter(
            name: "analytics_retention_days_archived_total", help: "Days of raw events exported, rolled up and dropped")
        filesNotDeleted = p.makeCounter(
            name: "analytics_retention_file_deletion_failures_total",
            help: "Expired archive files the retention pass could not delete (each is logged and tried again by the next pass)")
        daysRemoved = p.makeCounter(
            name: "analytics_retention_days_removed_total",
            help: "Days of rollups and archive files removed past the archive retention")
        dayDropDuration = p.makeDurationHistogram(
            name: "analytics_retention_day_seconds", buckets: MetricsRegistry.latencyBuckets + [.seconds(30), .seconds(60), .seconds(120)],
            help: "Time to archive, roll up and drop one day of raw events")
    }
}
