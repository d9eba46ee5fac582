import Foundation
import NIOCore
import PostgresNIO
import Testing

@testable import ArchiverKit

@Suite("Visitor sketches built by the archiver, against PostgreSQL's hll extension")
struct VisitorSketchTests {
    static func hashes(_ ids: [UUID]) -> Set<Int64> { Set(ids.map { Int64(bitPattern: VisitorSketch.hash($0)) }) }

    @Test("A visitor's hash is the extension's hll_hash_bytea of the UUID's bytes")
    func hashesAreTheExtensions() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let ids = (0..<200).map { _ in UUID() } + [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))]
        let rows = try await h.client.query(
            "SELECT id::text, hll_hash_bytea(uuid_send(id))::text FROM unnest(\(ids)::uuid[]) AS id", logger: h.logger)
        var checked = 0
        for try await (id, hash) in rows.decode((String, String).self) {
            let uuid = try #require(UUID(uuidString: id))
            #expect(String(Int64(bitPattern: VisitorSketch.hash(uuid))) == hash, "\(id)")
            checked += 1
        }
        #expect(checked == ids.count)
    }

    @Test(
        "A sketch is the one hll_add_agg gives for the same visitors, explicit or in registers",
        arguments: [1, 2, 7, 159, 160, 161, 400, 3000])
    func sketchesAreTheExtensions(count: Int) async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let ids = (0..<count).map { _ in UUID() }
        let sketch = VisitorSketch.sketch(ofHashes: Self.hashes(ids + ids.prefix(3)))  // repeated visitors count once
        let rows = try await h.client.query(
            """
            SELECT hll_print(\(sketch)::bytea::hll), hll_print(hll_add_agg(analytics_visitor_hash(id))),
                   hll_print(hll_union(\(sketch)::bytea::hll, hll_add_agg(analytics_visitor_hash(id))))
            FROM unnest(\(ids)::uuid[]) AS id
            """, logger: h.logger)
        for try await (ours, theirs, union) in rows.decode((String, String, String).self) {
            #expect(ours == theirs)
            #expect(union == theirs)
            #expect(ours.hasPrefix(count <= VisitorSketch.explicitLimit ? "EXPLICIT" : "COMPRESSED"), "\(ours.prefix(60))")
        }
    }

    @Test("No visitors make an empty sketch")
    func noVisitors() async throws {
        let h = try await ArchiverHarness()
        defer { Task { await h.shutdown() } }
        let sketch = VisitorSketch.sketch(ofHashes: [])
        let rows = try await h.client.query(
            "SELECT hll_cardinality(\(sketch)::bytea::hll)::int, hll_print(\(sketch)::bytea::hll)", logger: h.logger)
        for try await (cardinality, printed) in rows.decode((Int, String).self) {
            #expect(cardinality == 0)
            #expect(printed.hasPrefix("EMPTY"))
        }
    }
}
