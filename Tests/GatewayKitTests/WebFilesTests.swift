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

    static let files = WebFiles(webSocket: .init(url: "", port: 8081))

    @Test func pagesCarryAStrictContentSecurityPolicyAndAssetsAreRevalidated() throws {
        let page = try #require(Self.files.byPath["/api/docs"]).response(for: [:])
        let policy = try #require(page.headers[.contentSecurityPolicy])
        #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"))
        #expect(page.headers[.xContentTypeOptions] == "nosniff")
        #expect(policy.contains("connect-src 'self';") && policy.contains("frame-ancestors 'none'"))
        let script = try #require(Self.files.byPath["/assets/api-docs.js"])
        let first = script.response(for: [.acceptEncoding: "gzip"])
        #expect(first.status == .ok && first.headers[.contentEncoding] == "gzip")
        let etag = try #require(first.headers[.eTag])
        #expect(script.response(for: [.acceptEncoding: "gzip", .ifNoneMatch: etag]).status == .notModified)
        #expect(script.response(for: [:]).headers[.contentType] == "text/javascript; charset=utf-8")
    }

    @Test func theDashboardMayConnectOnlyToItsOwnOriginAndTheHubsPort() throws {
        let file = try #require(Self.files.byPath["/"])
        let policy = try #require(file.response(for: [:]).headers[.contentSecurityPolicy])
        #expect(policy.contains("connect-src 'self' ws://*:8081 wss://*:8081;"))
        #expect(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"))
        let html = String(decoding: file.plain, as: UTF8.self)
        #expect(html.contains(#"<meta name="analytics-ws-url" content="">"#))
        #expect(html.contains(#"<meta name="analytics-ws-port" content="8081">"#))
        #expect(!html.contains("__ANALYTICS"))
    }

    @Test func aConfiguredHubAddressIsWrittenIntoThePagesAndIsTheOnlyOtherConnection() throws {
        let files = WebFiles(webSocket: .init(url: "wss://live.example.com:8443/ws/analytics?a=1&b=2", port: 9000))
        for path in ["/", "/embed/live"] {
            let file = try #require(files.byPath[path])
            let policy = try #require(file.response(for: [:]).headers[.contentSecurityPolicy])
            #expect(policy.contains("connect-src 'self' wss://live.example.com:8443;"), "\(path)")
            let html = String(decoding: file.plain, as: UTF8.self)
            #expect(html.contains(#"content="wss://live.example.com:8443/ws/analytics?a=1&amp;b=2""#), "\(path)")
        }
    }

    @Test func onlyTheBadgeMayBeFramedByOtherSites() throws {
        for path in WebFiles.paths {
            let file = try #require(Self.files.byPath[path])
            let policy = file.response(for: [:]).headers[.contentSecurityPolicy]
            if path == "/embed/live" {
                #expect(policy?.contains("frame-ancestors *") == true)
            } else if let policy {
                #expect(policy.contains("frame-ancestors 'none'"), "\(path)")
            }
        }
    }
}
