import AnalyticsCore
import Logging
import PostgresNIO
import Prometheus
import Synchronization

/// Runs the daily pass exactly once across every archiver: a PostgreSQL advisory lock makes one of
/// them run it, and `analytics_retention_runs` records the day as done.
///
/// A failed pass is counted, logged and tried again at the next housekeeping; the
/// ``RetentionSchedule`` advances only when the day's pass is done.
public final class RetentionScheduler: Sendable {
    /// `pg_advisory_lock` key of the retention pass ("retentio").
    static let lockKey: Int64 = 0x7265_7465_6E74_696F

    let pass: RetentionPass
    let client: PostgresClient
    let metrics: ArchiverMetrics
    let logger: Logger
    private let state = Mutex<(schedule: RetentionSchedule, running: Task<Void, Never>?)>((RetentionSchedule(), nil))

    /// - Parameters:
    ///   - pass: the pass to run.
    ///   - client: the pool whose connection holds the advisory lock for the whole pass.
    ///   - metrics: where runs and failures are counted.
    ///   - logger: for each pass and its failures.
    public init(pass: RetentionPass, client: PostgresClient, metrics: ArchiverMetrics, logger: Logger) {
        self.pass = pass
        self.client = client
        self.metrics = metrics
        self.logger = logger
    }

    /// Starts the daily pass in the background if it is due and not already running here. When
    /// another archiver holds the lock, nothing is done and a later call looks again; when another
    /// archiver already finished today's pass, the day is marked done here too.
    /// - Parameter nowMilliseconds: the current time, in Unix milliseconds.
    public func runIfDue(nowMilliseconds: Int64 = EpochClock.milliseconds()) {
        state.withLock { state in
            guard state.running == nil, state.schedule.isDue(nowMilliseconds: nowMilliseconds) else { return }
            state.running = Task {
                let done = await self.runDaily(nowMilliseconds: nowMilliseconds)
                self.state.withLock { state in
                    state.running = nil
                    if done { state.schedule.lastCompleted = TimeBucket(epochMilliseconds: nowMilliseconds).date }
                }
            }
        }
    }

    /// Cancels a pass started here and waits for it to stop. The day being retired keeps its
    /// partition, and the day's pass is not marked done, so it runs again when next due.
    public func cancel() async {
        let task = state.withLock { $0.running }
        task?.cancel()
        await task?.value
    }

    /// True when today's pass is done (by us or by another archiver).
    func runDaily(nowMilliseconds: Int64) async -> Bool {
        let today = TimeBucket(epochMilliseconds: nowMilliseconds).date.isoString
        do {
            return try await client.withConnection { connection in
                guard try await Self.tryLock(connection, logger: logger) else {
                    return false  // another archiver is running it; look again later
                }
                do {
                    let done = try await runLocked(connection, today: today, nowMilliseconds: nowMilliseconds)
                    try await Self.unlock(connection, logger: logger)
                    return done
                } catch {
                    _ = try? await Self.unlock(connection, logger: logger)
                    throw error
                }
            }
        } catch {
            metrics.retentionFailures.increment()
            logger.error("retention pass failed; it will be retried", metadata: ["error": "\(String(reflecting: error).prefix(300))"])
            return false
        }
    }

    private func runLocked(_ connection: PostgresConnection, today: String, nowMilliseconds: Int64) async throws -> Bool {
        var finished = false
        for try await _ in try await connection.query(
            "SELECT 1 FROM analytics_retention_runs WHERE run_day = \(today)::date AND finished_at IS NOT NULL", logger: logger)
        {
            finished = true
        }
        if finished { return true }
        try await connection.query(
            """
            INSERT INTO analytics_retention_runs (run_day) VALUES (\(today)::date)
            ON CONFLICT (run_day) DO UPDATE SET started_at = now()
            """, logger: logger)
        let report = try await pass.run(nowMilliseconds: nowMilliseconds)
        try await connection.query(
            "UPDATE analytics_retention_runs SET finished_at = now() WHERE run_day = \(today)::date", logger: logger)
        metrics.retentionRuns.increment()
        metrics.retentionLastSuccess.set(to: Double(EpochClock.milliseconds() / 1000))
        logger.info(
            "daily retention pass done",
            metadata: [
                "archived_days": "\(report.archivedDays.count)", "events": "\(report.archivedEvents)",
                "removed_days": "\(report.removedDays.count)",
            ])
        return true
    }

    /// Runs the pass now (`analytics-archiver retention`), waiting for a pass in progress elsewhere.
    /// It runs whatever the hour and whether today's pass is done, and records no daily run.
    /// - Parameter nowMilliseconds: the current time, in Unix milliseconds.
    /// - Returns: what the pass did.
    /// - Throws: the pass's failure, or PostgreSQL's.
    public func runNow(nowMilliseconds: Int64 = EpochClock.milliseconds()) async throws -> RetentionPass.Report {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let report = try await pass.run(nowMilliseconds: nowMilliseconds)
                try await Self.unlock(connection, logger: logger)
                metrics.retentionRuns.increment()
                return report
            } catch {
                _ = try? await Self.unlock(connection, logger: logger)
                throw error
            }
        }
    }

    static func tryLock(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var locked = false
        for try await got in try await connection.query("SELECT pg_try_advisory_lock(\(lockKey))", logger: logger).decode(Bool.self) {
            locked = got
        }
        return locked
    }

    static func unlock(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
    }
}
