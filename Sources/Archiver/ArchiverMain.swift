import AnalyticsCore
import ArchiverKit
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import UnixSignals

/// `analytics-archiver`: without arguments, the `archiver` consumer group (every event into
/// PostgreSQL) with the daily retention pass. Commands:
///   migrate [down [VERSION]]   apply pending migrations (or revert down to VERSION, default 0) and exit
///   retention                  run the retention and archive pass once now and exit
///   import FILE…               load archive files (gzip NDJSON), skipping events already present
///   rebuild [--since DAY]      recompute the Redis aggregates from PostgreSQL
@main
struct ArchiverMain {
    static let name = "analytics-archiver"

    static func main() async throws {
        let (configuration, positional, logger) = ServiceBootstrap.load(process: name)
        let app: ArchiverApplication
        do {
            app = try ArchiverApplication(configuration: configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            exit(ServiceBootstrap.configurationExitCode)
        }
        do {
            switch positional.first {
            case nil:
                logger.info("archiver starting", metadata: [
                    "consumer": "\(configuration.consumerName)", "admin": "\(configuration.httpHost):\(configuration.adminPort)",
                    "redis": "\(configuration.redisURL.redacted)",
                ])
                await ServiceBootstrap.run(app.services(), logger: logger)
            case "migrate":
                try await migrate(app, Array(positional.dropFirst()))
            case "retention":
                let report = try await app.withClients { try await app.retentionScheduler.runNow() }
                print("retention: archived \(report.archivedDays.count) days (\(report.archivedEvents) events), "
                    + "dropped \(report.droppedWithoutArchive.count) days past the archive retention, "
                    + "removed \(report.removedDays.count) days of rollups and archives, forgot \(report.forgottenVisitors) visitors")
            case "import":
                let files = Array(positional.dropFirst())
                guard !files.isEmpty else { usage("import needs at least one FILE") }
                let ok = try await app.withClients {
                    try await app.migrator.migrateUp()
                    return try await Importer(store: app.store, logger: logger).run(files: files)
                }
                if !ok { exit(1) }
            case "rebuild":
                let since = try sinceDay(Array(positional.dropFirst()))
                let report = try await app.withClients {
                    try await Rebuilder(
                        client: app.postgres, redis: app.redisWriter, keyspace: configuration.keyspace, partitions: app.partitions,
                        logger: logger
                    ).run(since: since)
                }
                print("rebuild: \(report.days) days, \(report.weeks) weeks, \(report.months) months, \(report.events) events, "
                    + "\(report.themes) themes")
            case let other?:
                usage("unknown command \(other)")
            }
        } catch {
            FileHandle.standardError.write(Data("\(name): \(String(reflecting: error))\n".utf8))
            exit(1)
        }
    }

    static func migrate(_ app: ArchiverApplication, _ arguments: [String]) async throws {
        switch arguments.first {
        case nil, "up":
            let applied = try await app.withClients { try await app.migrator.migrateUp() }
            print(applied.isEmpty ? "migrate: up to date" : "migrate: applied \(applied.map(String.init).joined(separator: ", "))")
        case "down":
            guard arguments.count <= 2, let target = Int(arguments.count == 2 ? arguments[1] : "0") else {
                usage("migrate down takes an optional VERSION")
            }
            let reverted = try await app.withClients { try await app.migrator.migrateDown(to: target) }
            print("migrate: reverted \(reverted.map(String.init).joined(separator: ", "))")
        default:
            usage("migrate takes up or down [VERSION]")
        }
    }

    static func sinceDay(_ arguments: [String]) throws -> CivilDate? {
        var i = 0
        var since: CivilDate?
        while i < arguments.count {
            let argument = arguments[i]
            let value: String
            if argument.hasPrefix("--since=") {
                value = String(argument.dropFirst("--since=".count))
            } else if argument == "--since", i + 1 < arguments.count {
                value = arguments[i + 1]
                i += 1
            } else {
                usage("rebuild takes --since YYYY-MM-DD")
            }
            guard let day = CivilDate(iso: value) else { usage("--since: expected YYYY-MM-DD, got \(value)") }
            since = day
            i += 1
        }
        return since
    }

    static func usage(_ message: String) -> Never {
        FileHandle.standardError.write(Data("\(name): \(message)\nusage: \(name) [migrate [up|down [VERSION]] | retention | import FILE… | rebuild [--since YYYY-MM-DD]]\n".utf8))
        exit(64)
    }
}
