import AnalyticsCore
import Prometheus
import ServiceSupport

/// The business metrics (`<namespace>_events_total`, `_visitors_total`, …) with true values — the
/// aggregator counts each event exactly once, so these are counted here, from what the script
/// reports it counted — plus the aggregator's batch metrics. ``AggregationProcessor`` records them.
public final class AggregatorMetrics: Sendable {
    /// Distinct `event_type` / `theme` labels before folding into `other` (see `BoundedLabel`): event
    /// types and themes come from clients, so they must not grow the series without bound.
    public static let labelCapacity = 50

    let registry: MetricsRegistry
    private let eventTypes = BoundedLabel(
        capacity: AggregatorMetrics.labelCapacity,
        preset: [
            DomainEvent.pageview, DomainEvent.themeView, DomainEvent.letterGenerated,
        ])
    private let themes = BoundedLabel(capacity: AggregatorMetrics.labelCapacity)
    private let visitors: Counter
    private let currentVisitors: Gauge
    private let letters: [String: Counter]
    let batchSize: ValueHistogram
    let batchDuration: DurationHistogram
    private let applied: Counter
    private let duplicates: Counter
    private let deadLetters: Counter

    /// Registers the metrics, the labelled families of the service's own event types included, so
    /// the exposition is complete before the first batch.
    /// - Parameter activeWindowSeconds: how long a visitor stays current, for the help text.
    public init(registry: MetricsRegistry, activeWindowSeconds: Int = 300) {
        self.registry = registry
        let p = registry.prometheus
        visitors = p.makeCounter(
            name: registry.business("visitors_total"),
            help: "New unique visitors: growth of the daily unique-visitor HyperLogLogs (a visitor counts once per UTC day)")
        currentVisitors = p.makeGauge(
            name: registry.business("current_visitors"),
            help: "Visitors seen in the last \(activeWindowSeconds) seconds (the active window)")
        var letters: [String: Counter] = [:]
        for type in DomainEvent.letterTypes.sorted() {
            letters[type] = p.makeCounter(
                name: registry.business("letters_generated_total"), labels: [("type", type)],
                help: "Letters generated, by type")
        }
        self.letters = letters
        batchSize = p.makeValueHistogram(
            name: "analytics_aggregator_batch_size", buckets: MetricsRegistry.batchSizeBuckets,
            help: "Stream entries per batch applied by the aggregator")
        batchDuration = p.makeDurationHistogram(
            name: "analytics_aggregator_batch_duration_seconds", buckets: MetricsRegistry.latencyBuckets,
            help: "Time to apply one batch to Redis (script and publication)")
        applied = p.makeCounter(
            name: "analytics_aggregator_entries_applied_total", help: "Stream entries counted into the aggregates")
        duplicates = p.makeCounter(
            name: "analytics_aggregator_entries_redelivered_total",
            help: "Stream entries delivered again after they were already counted (skipped)")
        deadLetters = p.makeCounter(
            name: "analytics_aggregator_dead_letters_total",
            help: "Stream entries that could not be counted and went to the dead-letter stream")
        // Declare the labelled families up front so the exposition is complete from the start.
        for type in [DomainEvent.pageview, DomainEvent.themeView, DomainEvent.letterGenerated] {
            _ = eventCounter(type)
        }
    }

    private func eventCounter(_ type: String) -> Counter {
        registry.prometheus.makeCounter(
            name: registry.business("events_total"), labels: [("event_type", eventTypes.value(for: type))],
            help: "Analytics events counted, by type (types past the label cap are 'other')")
    }

    func record(batch: AggregationBatch, outcome: AggregationOutcome, duration: Duration) {
        batchSize.record(Double(batch.count))
        batchDuration.record(duration)
        var perType: [String: Int] = [:]
        var perLetter: [String: Int] = [:]
        for (entry, counted) in zip(batch.entries, outcome.applied) where counted {
            perType[entry.eventType, default: 0] += 1
            if case .letter(let type) = entry.dimension { perLetter[type, default: 0] += 1 }
        }
        for (type, n) in perType { eventCounter(type).increment(by: Int64(n)) }
        for (type, n) in perLetter { letters[type]?.increment(by: Int64(n)) }
        let appliedCount = outcome.appliedCount
        applied.increment(by: Int64(appliedCount))
        duplicates.increment(by: Int64(outcome.applied.count - appliedCount))
        deadLetters.increment(by: Int64(batch.dead.count))
        if outcome.newUniqueVisitors > 0 { visitors.increment(by: Int64(outcome.newUniqueVisitors)) }
        currentVisitors.set(to: Double(outcome.currentVisitors))
        for (theme, views) in outcome.themeScores {
            let label = themes.value(for: theme)
            guard label != BoundedLabel.other else { continue }
            registry.prometheus.makeGauge(
                name: registry.business("cv_theme_views"), labels: [("theme", label)],
                help: "Views per CV theme (all-time, from the top-themes sorted set)"
            ).set(to: views)
        }
    }

    func setCurrentVisitors(_ n: Int) { currentVisitors.set(to: Double(n)) }
}
