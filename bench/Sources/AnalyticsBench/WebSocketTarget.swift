import ArgumentParser
import Foundation
import NIOCore

/// The hub's address and the upgrade request to send it, built once from `--url`.
struct WebSocketTarget: Sendable {
    let address: SocketAddress
    let request: ByteBuffer
    let description: String

    init(url: String, origin: String?, deflate: Bool) throws {
        guard url.hasPrefix("ws://") else { throw ValidationError("--url must start with ws:// (wss is not supported)") }
        let rest = url.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = authority
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]) else { throw ValidationError("bad port in --url") }
            port = p
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        var key = [UInt8](repeating: 0, count: 16)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        var text = "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { text += "Origin: \(origin)\r\n" }
        if deflate { text += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" }
        text += "User-Agent: analytics-bench ws-load\r\n\r\n"
        self.request = ByteBuffer(string: text)
        self.description = url
    }
}
