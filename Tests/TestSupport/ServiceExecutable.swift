import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One of the service's executables run as a real process by an end-to-end test, with its
/// configuration in the environment, as systemd or the supervisor would run it.
public enum ServiceExecutable: String, Sendable {
    case gateway = "analytics-gateway"
    case aggregator = "analytics-aggregator"
    case archiver = "analytics-archiver"
    case wshub = "analytics-wshub"
    case supervisor = "analytics-supervisor"
}
