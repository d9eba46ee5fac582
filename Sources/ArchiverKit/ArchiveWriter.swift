import AnalyticsCore
import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes events as a gzip-compressed NDJSON archive (see ``ArchiveLine``) to a temporary path, then
/// publishes it atomically under its final name with ``commit(to:)``, or throws it away with
/// ``abandon()``. The temporary name means a reader never sees half an archive, even after a crash;
/// ``RetentionPass`` writes each day's archive this way.
///
/// Not thread-safe: one writer belongs to one task.
public final class ArchiveWriter {
    /// Where the archive is written until ``commit(to:)`` renames it.
    public let temporaryPath: String
    /// Events appended so far.
    public private(set) var count: Int = 0

    private enum State {
        case open, closed, committed, abandoned
    }

    /// The zlib stream: this class is its only owner, and the one place that frees it (`close()`).
    private var file: gzFile?
    private var state = State.open
    /// Lines are gathered here and handed to zlib in large blocks: one `gzwrite` per ~64 KiB.
    private var buffer: [UInt8] = []
    private static let flushThreshold = 64 * 1024

    /// Creates `temporaryPath` afresh and opens it for writing at compression level 6. A file left
    /// there by an interrupted pass is removed first; the new one is created exclusively and never
    /// through a symbolic link, so whatever stands at that path, nothing outside it is written.
    /// - Throws: ``ArchiveFileError`` when the file cannot be created.
    public init(temporaryPath: String) throws(ArchiveFileError) {
        self.temporaryPath = temporaryPath
        unlink(temporaryPath)
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw ArchiveFileError(path: temporaryPath, reason: "cannot create: \(systemError())")
        }
        guard let file = gzdopen(fd, "wb6") else {
            let reason = systemError()
            close(fd)
            unlink(temporaryPath)
            throw ArchiveFileError(path: temporaryPath, reason: "cannot start a gzip stream: \(reason)")
        }
        gzbuffer(file, 128 * 1024)
        self.file = file
        buffer.reserveCapacity(Self.flushThreshold + 16 * 1024)
    }

    deinit {
        if let file { gzclose(file) }
    }

    /// Adds one event as one line. Lines are buffered, so a write error may surface only at a later
    /// call or at ``commit(to:)``.
    /// - Throws: ``ArchiveFileError`` when the writer is no longer open (committed or abandoned) or
    ///   zlib cannot write.
    public func append(_ event: AnalyticsEvent) throws(ArchiveFileError) {
        guard state == .open else { throw ArchiveFileError(path: temporaryPath, reason: "the archive is no longer open") }
        ArchiveLine.append(event, to: &buffer)
        buffer.append(0x0A)
        count += 1
        if buffer.count >= Self.flushThreshold { try flushBuffer() }
    }

    private func flushBuffer() throws(ArchiveFileError) {
        guard !buffer.isEmpty, let file else { return }
        let written = buffer.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        guard written == Int32(buffer.count) else {
            let reason = zlibError(file)?.message ?? systemError()
            throw ArchiveFileError(path: temporaryPath, reason: "write failed: \(reason)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Finishes the gzip stream and publishes the file as `finalPath` so that it survives a crash once this
    /// returns: the data is synced, the file renamed over `finalPath` (atomically: a reader sees the old
    /// file or the complete new one) and the directory entry synced.
    ///
    /// On failure the temporary file is left in place; ``abandon()`` removes it.
    /// - Throws: ``ArchiveFileError`` when the writer is no longer open, or finishing, syncing or
    ///   renaming fails. A failure syncing the directory comes after the rename: the file is then in
    ///   place but may not survive a crash.
    public func commit(to finalPath: String) throws(ArchiveFileError) {
        guard state == .open, let file else {
            throw ArchiveFileError(path: temporaryPath, reason: "the archive is no longer open")
        }
        try flushBuffer()
        if gzflush(file, Z_FINISH) != Z_OK {
            let reason = zlibError(file)?.message ?? "gzflush failed"
            throw ArchiveFileError(path: temporaryPath, reason: "cannot finish the gzip stream: \(reason)")
        }
        self.file = nil
        state = .closed
        let closed = gzclose(file)
        guard closed == Z_OK else {
            let reason = closed == Z_ERRNO ? systemError() : "zlib error \(closed)"
            throw ArchiveFileError(path: temporaryPath, reason: "cannot close: \(reason)")
        }

        try Self.sync(path: temporaryPath, flags: O_RDONLY)
        guard rename(temporaryPath, finalPath) == 0 else {
            throw ArchiveFileError(path: temporaryPath, reason: "cannot rename to \(finalPath): \(systemError())")
        }
        state = .committed
        let finalDirectory = Self.directory(of: finalPath)
        try Self.sync(path: finalDirectory, flags: O_RDONLY | O_DIRECTORY)
        let temporaryDirectory = Self.directory(of: temporaryPath)
        if temporaryDirectory != finalDirectory {
            try Self.sync(path: temporaryDirectory, flags: O_RDONLY | O_DIRECTORY)
        }
    }

    /// Closes the stream and deletes the temporary file (a no-op once committed or abandoned).
    public func abandon() {
        switch state {
        case .committed, .abandoned:
            return
        case .open, .closed:
            if let file {
                self.file = nil
                gzclose(file)
            }
            buffer.removeAll()
            unlink(temporaryPath)
            state = .abandoned
        }
    }

    private static func sync(path: String, flags: Int32) throws(ArchiveFileError) {
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveFileError(path: path, reason: "cannot open to sync: \(systemError())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ArchiveFileError(path: path, reason: "fsync failed: \(systemError())") }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
