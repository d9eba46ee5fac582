import AnalyticsCore
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport
import SupervisorKit
import UnixSignals

/// `analytics-supervisor`: runs and keeps alive every worker of the service, for systemd.
@main
struct SupervisorMain {
    static func main() async throws {
        let (configuration, positional, logger) = ServiceBootstrap.load(process: "analytics-supervisor")
        guard positional.isEmpty else {
            ServiceBootstrap.fail("analytics-supervisor", "unexpected arguments \(positional); see --help")
        }
        let app: SupervisorApplication
        do {
            app = try SupervisorApplication(configuration: configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("analytics-supervisor: \(error)\n".utf8))
            exit(ServiceBootstrap.configurationExitCode)
        }
        logger.info("supervisor starting", metadata: [
            "workers": "\(app.supervisor.workers.map(\.name).joined(separator: ", "))", "admin": "\(configuration.httpHost):\(configuration.adminPort)",
        ])
        await ServiceBootstrap.run(app.services, logger: logger)
    }
}
