import AnalyticsCore
import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the events of an archive file (see ``ArchiveLine``) line by line: gzip (several concatenated members included, as
/// `cat a.gz b.gz` makes) or plain NDJSON, with `\n` or `\r\n` line breaks, a last line with or without
/// one, empty lines skipped.
///
/// A line that is not a valid event throws with its line number, and the next call goes on with the next
/// line (an importer may count and skip bad lines). A damaged or truncated file throws, on every call
/// from then on: it never looks like a file that simply ended. Both kinds of error are an
/// ``ArchiveFileError`` carrying a line number.
///
/// Not thread-safe: one reader belongs to one task.
public final class ArchiveReader {
    /// The file being read.
    public let path: String
    /// Size of the file on disk when it was opened.
    public let compressedSize: Int64
    /// Lines longer than this many bytes are refused (and skipped), so that a file that is not
    /// NDJSON cannot make the reader buffer it whole.
    public static let maximumLineLength = 1024 * 1024

    /// Bytes of the file consumed so far (compressed bytes for a gzip file): with `compressedSize`, the
    /// progress of an import.
    public var compressedBytesRead: Int64 {
        guard let file else { return finalOffset }
        return Int64(gzoffset(file))
    }

    /// Whether the file is read as plain text rather than gzip (known once reading has begun).
    public var isPlainText: Bool {
        guard let file else { return finalPlainText }
        return gzdirect(file) != 0
    }

    private var file: gzFile?
    private var finalOffset: Int64 = 0
    private var finalPlainText = false
    /// Decompressed bytes not yet returned; `buffer[start...]` is pending.
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var lineNumber = 0
    /// Set after an over-long line: the rest of it is dropped up to the next line break.
    private var discarding = false
    private static let readSize = 64 * 1024

    /// Opens `path`; whether it is gzip or plain text is found out by the first read.
    /// - Throws: ``ArchiveFileError`` when the file cannot be opened or is not a regular file.
    public init(path: String) throws(ArchiveFileError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveFileError(path: path, reason: "cannot open: \(systemError())") }
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 0, lseek(fd, 0, SEEK_SET) == 0 else {
            let reason = systemError()
            close(fd)
            throw ArchiveFileError(path: path, reason: "cannot determine the size (not a regular file?): \(reason)")
        }
        compressedSize = Int64(size)
        guard let file = gzdopen(fd, "rb") else {
            let reason = systemError()
            close(fd)
            throw ArchiveFileError(path: path, reason: "cannot start reading: \(reason)")
        }
        gzbuffer(file, 128 * 1024)
        self.file = file
        buffer.reserveCapacity(2 * Self.readSize)
    }

    deinit {
        if let file { gzclose(file) }
    }

    /// The next event, or nil at the end of the file. Blank lines are skipped, as are a UTF-8 byte
    /// order mark on the first line and a `\r` before the line break.
    /// - Throws: ``ArchiveFileError`` for a line that is not a valid event or is too long (the next
    ///   call goes on with the following line), or for damaged or truncated data (every later call
    ///   throws again).
    public func next() throws(ArchiveFileError) -> AnalyticsEvent? {
        while let line = try nextLine() {
            var end = line.upperBound
            if end > line.lowerBound, buffer[end - 1] == 0x0D { end -= 1 }
            var begin = line.lowerBound
            if lineNumber == 1, end - begin >= 3, buffer[begin] == 0xEF, buffer[begin + 1] == 0xBB,
                buffer[begin + 2] == 0xBF
            {
                begin += 3  // a UTF-8 byte order mark, as some Windows tools write
            }
            if buffer[begin..<end].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do {
                return try ArchiveLine.decode(buffer[begin..<end])
            } catch {
                throw ArchiveFileError(path: path, line: lineNumber, reason: error.reason, isRefusedLine: true)
            }
        }
        return nil
    }

    /// The range in `buffer` of the next line without its `\n`, or nil at the end of the file.
    private func nextLine() throws(ArchiveFileError) -> Range<Int>? {
        var searchFrom = start
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: 0x0A) {
                let line = start..<newline
                start = newline + 1
                if discarding {
                    discarding = false
                    searchFrom = start
                    continue
                }
                lineNumber += 1
                guard line.count <= Self.maximumLineLength else { throw overlongLine() }
                return line
            }
            if discarding {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            } else if buffer.count - start > Self.maximumLineLength {
                lineNumber += 1
                discarding = true
                buffer.removeAll(keepingCapacity: true)
                start = 0
                throw overlongLine()
            }
            if atEnd {
                guard start < buffer.count, !discarding else { return nil }
                let line = start..<buffer.count
                start = buffer.count
                lineNumber += 1
                return line
            }
            // Keep the unfinished line, drop what was returned, read more.
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            searchFrom = buffer.count
            try fill()
        }
    }

    private func overlongLine() -> ArchiveFileError {
        ArchiveFileError(path: path, line: lineNumber, reason: "line longer than \(Self.maximumLineLength) bytes", isRefusedLine: true)
    }

    /// Appends up to `readSize` decompressed bytes to `buffer`; sets `atEnd` at the end of the file.
    private func fill() throws(ArchiveFileError) {
        guard let file else {
            atEnd = true
            return
        }
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.readSize))
        let got = buffer.withUnsafeMutableBytes { raw in
            gzread(file, raw.baseAddress! + old, UInt32(Self.readSize))
        }
        buffer.removeSubrange((old + max(Int(got), 0))...)
        if got < 0 {
            throw ArchiveFileError(
                path: path, line: lineNumber + 1, reason: "cannot read: \(zlibError(file)?.message ?? systemError())")
        }
        if got == 0 {
            // gzread reports a truncated stream as an end of file with Z_BUF_ERROR pending: check for it,
            // and leave the stream open so that every later call fails the same way.
            if let error = zlibError(file) {
                throw ArchiveFileError(path: path, line: lineNumber + 1, reason: error.message)
            }
            finalOffset = Int64(gzoffset(file))
            finalPlainText = gzdirect(file) != 0
            self.file = nil
            gzclose(file)
            atEnd = true
        }
    }
}
