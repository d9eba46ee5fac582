import Foundation
import HTTPTypes
import HummingbirdCore
import Testing

@testable import GatewayKit

/// The OpenAPI description and the pages the gateway serves from memory.
@Suite("Web files and the OpenAPI description")
struct WebFilesTests {
    static var checkout: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func everyServedFileIsItsRepositoryFileAsItIs() throws {
        for source in WebFiles.sources {
            let file = try String(contentsOf: Self.checkout.appendingPathComponent(source.file), encoding: .utf8)
            #expect(source.text == file, "run scripts/embed-web after changing \(source.file)")
        }
    }

    static func specification() throws -> [String: Any] {
        let text = try #require(WebFiles.sources.first { $0.path == "/api/openapi.json" }?.text)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func theDescriptionIsOpenAPI31AndListsEveryRouteTheGatewayServesAndNoOther() throws {
        let spec = try Self.specification()
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        var described = Set<String>()
        for (path, item) in paths {
            for method in item.keys { described.insert("\(method.uppercased()) \(path)") }
        }
        let served = Set(
            GatewayApplication.routes.map { route in
                let segments = route.endpoint.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                return "\(route.method) /" + segments.joined(separator: "/")
            })
        #expect(described == served)
    }

    @Test func everyReferenceInTheDescriptionNamesASchemaItHolds() throws {
        let spec = try Self.specification()
        let text = try #require(WebFiles.sources.first { $0.path == "/api/openapi.json" }?.text)
        let components = try #require((spec["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let headers = try #require((spec["components"] as? [String: Any])?["headers"] as? [String: Any])
        let references = try Regex(##""\$ref": "#/components/(schemas|headers)/([A-Za-z]+)""##)
        var count = 0
        for match in text.matches(of: references) {
            let kind = String(try #require(match.output[1].substring))
            let name = String(try #require(match.output[2].substring))
            #expect((kind == "schemas" ? components[name] : headers[name]) != nil, "\(kind)/\(name)")
            count += 1
        }
        #expect(count > 20)
    }

    @Test func pagesCarryAStrictContentSecurityPolicyAndAssetsAreRevalidated() throws {
        let page = try #require(WebFiles.byPath["/api/docs"]).response(for: [:])
        let policy = try #require(page.headers[.contentSecurityPolicy])
        #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"))
        #expect(page.headers[.xContentTypeOptions] == "nosniff")
        let script = try #require(WebFiles.byPath["/assets/api-docs.js"])
        let first = script.response(for: [.acceptEncoding: "gzip"])
        #expect(first.status == .ok && first.headers[.contentEncoding] == "gzip")
        let etag = try #require(first.headers[.eTag])
        #expect(script.response(for: [.acceptEncoding: "gzip", .ifNoneMatch: etag]).status == .notModified)
        #expect(script.response(for: [:]).headers[.contentType] == "text/javascript; charset=utf-8")
    }
}
