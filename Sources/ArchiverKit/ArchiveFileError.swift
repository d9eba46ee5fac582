import AnalyticsCore
import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reading or writing an archive file: which file, which line (when one is at fault) and why.
public struct ArchiveFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    /// 1-based line number, when the error concerns one line.
    public let line: Int?
    public let reason: String

    public init(path: String, line: Int? = nil, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(path):\(line): \(reason)" }
        return "\(path): \(reason)"
    }
}

/// The system's text for an `errno` value.
func systemError(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// zlib's description of the last error on `file`, or nil when there is none.
func zlibError(_ file: gzFile) -> (code: Int32, message: String)? {
    let saved = errno
    var code: Int32 = Z_OK
    let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
    switch code {
    case Z_OK: return nil
    case Z_ERRNO: return (code, saved != 0 ? systemError(saved) : "I/O error")
    case Z_BUF_ERROR: return (code, "the compressed data ends unexpectedly (truncated file?): zlib: \(message)")
    case Z_DATA_ERROR: return (code, "corrupt compressed data: zlib: \(message)")
    default: return (code, "zlib: \(message.isEmpty ? "error \(code)" : message)")
    }
}
