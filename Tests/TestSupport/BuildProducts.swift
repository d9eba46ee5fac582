import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where the package's executables are: beside the test bundle in `.build/<triple>/<configuration>`.
public enum BuildProducts {
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["ANALYTICS_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // The test binary sits inside `X.xctest/` on some platforms.
        while dir.lastPathComponent.hasSuffix(".xctest") || dir.lastPathComponent == "MacOS" || dir.lastPathComponent == "Contents" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    public static func executable(_ name: String) -> URL {
        directory.appendingPathComponent(name)
    }
}
