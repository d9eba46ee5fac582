import ArchiverKit
import Foundation
import Testing

@Suite("Visitor cache")
struct VisitorCacheTests {
    let hour = VisitorCache.rewriteAfterMilliseconds

    @Test func aBatchGathersEachVisitorsFirstAndLastTime() {
        let a = UUID()
        let b = UUID()
        let seen = VisitorCache.visitors(of: [(a, 50), (b, 7), (a, 10), (a, 30)].map { (visitorID: $0.0, createdAt: Int64($0.1)) })
        #expect(seen == [a: .init(first: 10, last: 50), b: .init(first: 7, last: 7)])
    }

    @Test func onlyRowsThatMustChangeAreWritten() {
        let cache = VisitorCache()
        let known = UUID()
        let unknown = UUID()
        cache.record([(known, .init(first: 1_000, last: 10_000))])
        let batch: [UUID: VisitorCache.Seen] = [known: .init(first: 5_000, last: 10_000 + hour), unknown: .init(first: 1, last: 1)]
        #expect(cache.needingWrite(batch).keys.sorted { $0.uuidString < $1.uuidString } == [unknown])
        // More than an hour after the known last visit, or earlier than the first: written.
        #expect(cache.needingWrite([known: .init(first: 5_000, last: 10_001 + hour)]).count == 1)
        #expect(cache.needingWrite([known: .init(first: 999, last: 2_000)]).count == 1)
    }

    @Test func aFullCacheStartsOver() {
        let cache = VisitorCache(capacity: 3)
        cache.record((0..<3).map { _ in (UUID(), .init(first: 0, last: 0)) })
        #expect(cache.count == 3)
        let late = UUID()
        cache.record([(late, .init(first: 0, last: 0))])
        #expect(cache.count == 1)
        #expect(cache.needingWrite([late: .init(first: 0, last: 0)]).isEmpty)
        // Rows deleted (retention): nothing is skipped any more.
        cache.removeAll()
        #expect(cache.needingWrite([late: .init(first: 0, last: 0)]).count == 1)
    }
}
