import AnalyticsCore
import Foundation
import Logging

/// `analytics-archiver import FILE…`: loads archive files (a restore, or history written by another
/// tool) in batches through the same store as the consumer, so events already present are skipped.
/// Lines that are not valid events are reported and skipped; progress goes to the terminal.
///
/// Files are read with ``ArchiveReader`` and stored with ``EventStore``; the `import` subcommand
/// (``ArchiverCommand/Import``) runs it.
public struct Importer: Sendable {
    /// What importing one file did.
    public struct FileReport: Sendable, Equatable {
        /// Valid events read from the file and stored, new or not.
        public var events = 0
        /// Events PostgreSQL did not hold yet; `events - inserted` were already there.
        public var inserted = 0
        /// Lines that were not valid events: logged and skipped.
        public var refusedLines = 0

        /// A report with these counts (none by default).
        public init(events: Int = 0, inserted: Int = 0, refusedLines: Int = 0) {
            self.events = events
            self.inserted = inserted
            self.refusedLines = refusedLines
        }
    }

    let store: EventStore
    let logger: Logger
    let batchSize: Int
    /// Where progress lines go (stderr); nil to stay quiet.
    let progress: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - store: where the events go.
    ///   - logger: for the refused lines.
    ///   - batchSize: events stored per transaction.
    ///   - progress: where progress lines go (by default ``terminal``); nil to stay quiet.
    public init(store: EventStore, logger: Logger, batchSize: Int = 5000, progress: (@Sendable (String) -> Void)? = Importer.terminal) {
        self.store = store
        self.logger = logger
        self.batchSize = batchSize
        self.progress = progress
    }

    /// Progress on stderr; on a terminal one line rewritten in place.
    public static let terminal: @Sendable (String) -> Void = { line in
        let interactive = isatty(STDERR_FILENO) != 0
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    /// Imports every file, in order, and reports each one on the progress output.
    /// - Returns: false when some line was refused, true otherwise.
    /// - Throws: what ``importFile(_:)`` throws; the files and batches before it stay stored.
    public func run(files: [String]) async throws -> Bool {
        var clean = true
        for path in files {
            let report = try await importFile(path)
            progress?(
                "\(path): \(report.events) events, \(report.inserted) new, \(report.events - report.inserted) already present"
                    + (report.refusedLines > 0 ? ", \(report.refusedLines) lines refused" : ""))
            if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            if report.refusedLines > 0 { clean = false }
        }
        return clean
    }

    /// Imports one file in batches, skipping (and logging) the lines that are not valid events.
    /// - Returns: what was read, stored and refused.
    /// - Throws: ``ArchiveFileError`` when the file cannot be opened, or PostgreSQL's error; the
    ///   batches before it stay stored.
    public func importFile(_ path: String) async throws -> FileReport {
        let reader = try ArchiveReader(path: path)
        var report = FileReport()
        var batch: [AnalyticsEvent] = []
        batch.reserveCapacity(batchSize)
        var lastProgress = ContinuousClock.now
        while true {
            let event: AnalyticsEvent?
            do {
                event = try reader.next()
            } catch {
                // A bad line is skipped; a damaged file stops the import, once the complete lines
                // read before the damage are stored.
                guard error.isRefusedLine, let line = error.line else {
                    if !batch.isEmpty { report.inserted += try await store.store(batch) }
                    throw error
                }
                report.refusedLines += 1
                logger.warning("line refused", metadata: ["file": "\(path)", "line": "\(line)", "reason": "\(error.reason)"])
                continue
            }
            if let event { batch.append(event) }
            guard batch.count >= batchSize || (event == nil && !batch.isEmpty) else {
                if event == nil { break }
                continue
            }
            report.inserted += try await store.store(batch)
            report.events += batch.count
            batch.removeAll(keepingCapacity: true)
            if ContinuousClock.now - lastProgress > .seconds(1) {
                lastProgress = ContinuousClock.now
                let percent = reader.compressedSize > 0 ? Int(100 * reader.compressedBytesRead / reader.compressedSize) : 100
                progress?("\(path): \(percent)%, \(report.events) events, \(report.inserted) new")
            }
            if event == nil { break }
        }
        return report
    }
}
