import AnalyticsCore
import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reading or writing an archive file: which file, which line (when one is at fault) and why.
///
/// Thrown by ``ArchiveReader`` and ``ArchiveWriter``; the message is written for an operator.
public struct ArchiveFileError: Error, Sendable, CustomStringConvertible {
    /// The file at fault: for a writer that has not committed, its temporary path.
    public let path: String
    /// The 1-based number of the line being read when it happened: the invalid line, or the line at
    /// which damaged or truncated data stopped the reader. Nil when the error concerns the file as a
    /// whole (opening, writing, syncing, renaming).
    public let line: Int?
    /// What went wrong, in words (the system's or zlib's message included).
    public let reason: String
    /// Only the line `line` is refused (not an event, or too long): the reader goes on with the
    /// next one. Otherwise the file cannot be read any further (damaged, truncated, unreadable).
    public let isRefusedLine: Bool

    /// Creates an error about `path`, at `line` when one line is concerned.
    public init(path: String, line: Int? = nil, reason: String, isRefusedLine: Bool = false) {
        self.path = path
        self.line = line
        self.reason = reason
        self.isRefusedLine = isRefusedLine && line != nil
    }

    /// `path:line: reason`, or `path: reason` without a line.
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
