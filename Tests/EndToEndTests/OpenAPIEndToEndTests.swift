import Foundation
import TestSupport
import Testing

/// The gateway against its own OpenAPI description, checked by schemathesis (installed by
/// `scripts/install-deps` into `.tools/python`): every operation of the description is called with
/// generated valid and invalid input, and every answer must match what the description says of its
/// status, content type, headers and body — and never be a server error.
@Suite("OpenAPI description against the live gateway", .serialized)
struct OpenAPIEndToEndTests {
    static var checkout: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func schemathesisFindsNothingWithAllItsChecks() async throws {
        let schemathesis = Self.checkout.appendingPathComponent(".tools/python/bin/schemathesis")
        try #require(FileManager.default.isExecutableFile(atPath: schemathesis.path), "run scripts/install-deps")
        // Events from schemathesis come without a browser's user agent: keep them (no bot filter)
        // and let it send as many as it likes (no rate limit).
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let work = TemporaryDirectory("schemathesis")
        let run = try ChildProcess(
            executable: schemathesis,
            arguments: [
                "--config-file", Self.checkout.appendingPathComponent("openapi/schemathesis.toml").path, "--no-color",
                "run", "\(stack.http.baseURL)/api/openapi.json", "--checks", "all", "--max-examples", "200",
            ],
            environment: ["HOME": work.path, "SCHEMATHESIS_HOOKS": ""], logDirectory: work.url, name: "schemathesis")
        let status = await run.waitForExit(timeout: .seconds(600))
        #expect(status == 0, "\(run.output)")
    }

    @Test func theReferencePageRendersEveryOperationInARealBrowserWithoutErrors() async throws {
        let stack = try await ServiceStack()
        defer { Task { await stack.shutdown() } }
        let spec = try await stack.http.get("/api/openapi.json").json
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        let schemas = try #require((spec["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let operations = paths.values.map(\.count).reduce(0, +)
        #expect(operations >= 16)
        let browser = try await WebDriverSession.start(userAgent: TrackerBrowserTests.userAgent)
        do {
            try await browser.navigate(to: "\(stack.http.baseURL)/api/docs")
            let rendered = await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
                (try? await browser.evaluate("return document.querySelectorAll('section.operation').length", as: Int.self)) == operations
            }
            #expect(rendered)
            let heading = try await browser.evaluate(
                "return document.querySelector('#trackEvent h3').textContent", as: String.self)
            #expect(heading.contains("post") && heading.contains("/api/analytics/event"))
            let parameters = try await browser.evaluate(
                "return [...document.querySelectorAll('#breakdown td code')].map(c => c.textContent)", as: [String].self)
            #expect(parameters.contains("dimension") && parameters.contains("filter"))
            #expect(try await browser.evaluate("return document.querySelectorAll('[id^=schema-]').length", as: Int.self) == schemas.count)
            // Nothing but our own files loaded; no error or policy violation in the console.
            let log = try await browser.browserLog()
            #expect(!log.contains("SEVERE") && !log.contains("Content Security Policy"), "\(log)")
        } catch {
            await browser.close()
            throw error
        }
        await browser.close()
    }
}
