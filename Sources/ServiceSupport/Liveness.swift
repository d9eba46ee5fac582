import ServiceLifecycle
import Synchronization

/// How a process proves it is alive and working: to its `/healthz` (seconds since its work loop
/// last progressed) and over sd_notify (`READY=1` once it serves, `WATCHDOG=1` from the work loop
/// itself — a hung loop stops the pings — and `STOPPING=1` when it drains).
public final class Liveness: Sendable {
    /// Where `READY=1`, `WATCHDOG=1` and `STOPPING=1` go; nil when the process was started without
    /// `NOTIFY_SOCKET` (by hand, or in tests), and then only `/healthz` sees the progress.
    public let notifier: SystemdNotifier?
    private let lastProgress = Mutex(ContinuousClock.now)
    private let announcedReady = Mutex(false)

    /// - Parameter notifier: by default, the ``SystemdNotifier`` of the process's environment.
    public init(notifier: SystemdNotifier? = SystemdNotifier()) {
        self.notifier = notifier
    }

    /// The work loop made progress: resets the `/healthz` clock and pings the watchdog (the
    /// ``SystemdNotifier`` spaces the pings out, so calling this on every turn is cheap).
    public func progressed() {
        lastProgress.withLock { $0 = .now }
        notifier?.watchdog()
    }

    /// Runs `operation`, proving life every second while it is in flight, for at most `limit`.
    /// Waiting on a dependency is the process's work, not a hang: PostgresNIO's pool, for one, holds
    /// a query while it cannot connect until its circuit breaker trips (60 s), longer than a
    /// worker's watchdog, and the supervisor killed an archiver waiting out a PostgreSQL outage.
    /// Past `limit` the pings stop, so a truly stuck call still ends with the watchdog.
    /// - Parameters:
    ///   - limit: how long to vouch for the call.
    ///   - operation: the call to a dependency.
    /// - Returns: what `operation` returns.
    /// - Throws: what `operation` throws.
    public func whileWaiting<T>(upTo limit: Duration = .seconds(120), _ operation: () async throws -> T) async throws -> T {
        let ticker = Task { [self] in
            let end = ContinuousClock.now + limit
            while true {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                guard ContinuousClock.now < end else { return }
                progressed()
            }
        }
        defer { ticker.cancel() }
        return try await operation()
    }

    /// The process serves: sends `READY=1` the first time it is called, and nothing afterwards, so
    /// loops may call it on every turn.
    /// - Parameter status: a `STATUS=` line sent with it.
    public func ready(status: String? = nil) {
        let first = announcedReady.withLock { sent -> Bool in
            defer { sent = true }
            return !sent
        }
        if first { notifier?.ready(status: status) }
    }

    /// Seconds since the last ``progressed()`` (or since this object was made).
    public var secondsSinceProgress: Double {
        let elapsed = ContinuousClock.now - lastProgress.withLock { $0 }
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// `nil` when healthy, else why: for `/healthz`.
    /// - Parameter limit: seconds without progress after which the process is unhealthy.
    public func problem(silentFor limit: Double = 30) -> String? {
        let silent = secondsSinceProgress
        return silent > limit ? "no progress for \(Int(silent)) s" : nil
    }

    /// A service to put last in a `ServiceGroup`: stopped first, it announces `STOPPING=1` as soon as
    /// the drain begins.
    public var stoppingAnnouncer: some Service { StoppingAnnouncer(notifier: notifier) }

    struct StoppingAnnouncer: Service {
        let notifier: SystemdNotifier?
        func run() async throws {
            try? await gracefulShutdown()
            notifier?.stopping()
        }
    }
}
