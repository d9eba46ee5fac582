import AnalyticsCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceLifecycle
import ServiceSupport

/// Applies pending migrations before the consumer starts, retrying while PostgreSQL is unreachable
/// (the archiver waits for its database instead of crash-looping); a migration that fails on its
/// SQL stops the process.
struct MigratingService: Service {
    let migrator: MigrationRunner
    let then: StreamConsumer
    let liveness: Liveness
    let logger: Logger

    func run() async throws {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while true {
            do {
                _ = try await liveness.whileWaiting { try await migrator.migrateUp() }
                break
            } catch let error as PSQLError where error.serverInfo != nil {
                throw error
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning(
                    "PostgreSQL unreachable for migrations; retrying", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
                // Waiting for the database is this process's work now: not a hang.
                liveness.progressed()
                try? await Task.sleep(for: backoff.next())
            }
        }
        try await then.run()
    }
}
