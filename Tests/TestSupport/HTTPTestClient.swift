import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A plain HTTP client for tests (AsyncHTTPClient's shared instance), answering status, headers
/// and body text.
public struct HTTPTestClient: Sendable {
    public struct Answer: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: String

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// The body parsed as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }

        /// `data` of a `{"success": true, "data": {…}}` answer.
        public var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    }

    public let baseURL: String
    public let port: Int

    public init(port: Int, host: String = "127.0.0.1") {
        self.baseURL = "http://\(host):\(port)"
        self.port = port
    }

    public func get(_ path: String, headers: [(String, String)] = [], timeout: Duration = .seconds(10)) async throws -> Answer {
        try await send("GET", path, body: nil, headers: headers, timeout: timeout)
    }

    public func post(_ path: String, body: String, headers: [(String, String)] = [], timeout: Duration = .seconds(10)) async throws
        -> Answer
    {
        try await send("POST", path, body: Array(body.utf8), headers: [("Content-Type", "application/json")] + headers, timeout: timeout)
    }

    public func post(_ path: String, bytes: [UInt8], headers: [(String, String)] = [], timeout: Duration = .seconds(10)) async throws
        -> Answer
    {
        try await send("POST", path, body: bytes, headers: headers, timeout: timeout)
    }

    public func send(_ method: String, _ path: String, body: [UInt8]?, headers: [(String, String)], timeout: Duration) async throws
        -> Answer
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let seconds = Int64(timeout.components.seconds)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(max(1, seconds)))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Answer(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: String(buffer: buffer))
    }
}

/// Runs `promtool check metrics` on an exposition; returns its exit status and output.
public func promtoolCheck(_ exposition: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
    process.arguments = ["check", "metrics"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data(exposition.utf8))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}
