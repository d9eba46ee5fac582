import ArgumentParser
import Foundation
import Hummingbird

/// The reference of the ingest benchmark: a bare Hummingbird handler that decodes the same JSON
/// body with Codable and answers 201, with no validation, no visitor and no Redis.
struct BareServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bare-server")
    @Option(help: "Port") var port = 8099

    struct Event: Decodable {
        let event_type: String
        let page_url: String?
    }

    func run() async throws {
        let router = Router()
        router.post("/api/analytics/event") { request, context -> Response in
            let event = try await request.decode(as: Event.self, context: context)
            return Response(
                status: .created, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"success":true,"type":"\#(event.event_type)"}"#)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
