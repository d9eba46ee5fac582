import Foundation
import TestSupport
import Testing

@testable import GatewayKit

/// The tracker script as the gateway serves it.
@Suite("Tracker script")
struct TrackerScriptTests {
    static var checkout: URL {
        // Tests/GatewayKitTests/TrackerScriptTests.swift → the checkout.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func theServedScriptIsTrackerAnalyticsJsAsItIs() throws {
        let file = try String(contentsOf: Self.checkout.appendingPathComponent("tracker/analytics.js"), encoding: .utf8)
        #expect(TrackerScript.source == file, "run scripts/embed-tracker after changing tracker/analytics.js")
    }

    @Test func itFitsIn1536BytesCompressed() {
        #expect(TrackerScript.gzipped.count <= 1536, "\(TrackerScript.gzipped.count) bytes")
        #expect(TrackerScript.gzipped.count > 500)
    }

    @Test func acceptEncodingIsRead() {
        #expect(StaticFile.acceptsGzip("gzip, deflate, br"))
        #expect(StaticFile.acceptsGzip("br;q=1.0, gzip;q=0.8"))
        #expect(StaticFile.acceptsGzip("*"))
        #expect(!StaticFile.acceptsGzip(nil))
        #expect(!StaticFile.acceptsGzip("br, deflate"))
        #expect(!StaticFile.acceptsGzip("gzip;q=0"))
        #expect(!StaticFile.acceptsGzip("gzip; q=0.0, identity"))
    }

    @Test func servedGzippedWithAnETagAndNotAgainWhenUnchanged() async throws {
        let h = try await GatewayIntegrationTests.Harness()
        defer { Task { await h.stop() } }
        // curl decodes nothing unless asked: the bytes on the wire are checked as they are.
        let directory = TemporaryDirectory("tracker")
        let gz = directory.url.appendingPathComponent("analytics.js.gz")
        let url = "http://127.0.0.1:\(h.http.port)/js/analytics.js"
        let headers = try await Curl.run(["-D", "-", "-o", gz.path, "-H", "Accept-Encoding: gzip", url], in: directory).output
        #expect(headers.contains("HTTP/1.1 200"))
        #expect(headers.lowercased().contains("content-type: text/javascript"))
        #expect(headers.lowercased().contains("content-encoding: gzip"))
        #expect(headers.lowercased().contains("cache-control: public, no-cache"))
        #expect(headers.lowercased().contains("vary: accept-encoding"))
        let inflated = try await ChildProcess(
            executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "gzip -dc \(gz.path) > \(gz.path).js"],
            logDirectory: directory.url
        ).waitForExit()
        #expect(inflated == 0)
        #expect(try String(contentsOfFile: gz.path + ".js", encoding: .utf8) == TrackerScript.source)
        let etag = try #require(headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("etag:") }).dropFirst(5)
            .trimmingCharacters(in: .whitespaces)
        let again = try await h.http.get("/js/analytics.js", headers: [("Accept-Encoding", "gzip"), ("If-None-Match", etag)])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        // Without gzip: the text itself, under its own ETag.
        let plainFile = directory.url.appendingPathComponent("analytics.js")
        let plainHeaders = try await Curl.run(["-D", "-", "-o", plainFile.path, url], in: directory).output
        #expect(!plainHeaders.lowercased().contains("content-encoding"))
        #expect(!plainHeaders.contains(etag))
        #expect(try String(contentsOf: plainFile, encoding: .utf8) == TrackerScript.source)
        #expect(try await h.http.get("/js/analytics.js", headers: [("If-None-Match", "\"other\"")]).status == 200)
        // Not a pageview.
        #expect(try await h.streamLength() == 0)
    }
}
