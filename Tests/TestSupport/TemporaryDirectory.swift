import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory removed when the value is released (or kept with `ANALYTICS_KEEP_TEST_DIRS=1`).
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ label: String = "analytics-test") {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        self.url = url
    }

    public var path: String { url.path }

    deinit {
        if ProcessInfo.processInfo.environment["ANALYTICS_KEEP_TEST_DIRS"] != "1" {
            try? FileManager.default.removeItem(at: url)
        }
    }
}
