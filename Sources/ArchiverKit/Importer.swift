import AnalyticsCore
import Foundation
import Logging

/// `analytics-archiver import FILE…`: loads archive files (a restore, or history written by another
/// tool) in batches through the same store as the consumer, so events already present are skipped.
/// Lines that are not valid events are reported and skipped; progress goes to the terminal.
public struct Importer: Sendable {
    public struct FileReport: Sendable, Equatable {
        public var events = 0
        public var inserted = 0
        public var refusedLines = 0

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

    /// Imports every file; false when some line or file was refused.
    public func run(files: [String]) async throws -> Bool {
        var clean = true
        for path in files {
            let report = try await importFile(path)
            progress?("\(path): \(report.events) events, \(report.inserted) new, \(report.events - report.inserted) already present"
                + (report.refusedLines > 0 ? ", \(report.refusedLines) lines refused" : ""))
            if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            if report.refusedLines > 0 { clean = false }
        }
        return clean
    }

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
                // A bad line is skipped; a damaged file stops the import.
                guard let line = error.line else { throw error }
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
