import Foundation

/// The hub's answer to the upgrade request, as far as it has arrived.
enum UpgradeAnswer: Equatable {
    case incomplete
    case refused(String)
    /// `headEnd`: where the frames start; `deflate`: permessage-deflate accepted.
    case upgraded(headEnd: Int, deflate: Bool)

    /// `bytes`: everything received so far; the head's end is looked for from `searchingFrom` on.
    static func read(_ bytes: [UInt8], searchingFrom start: Int = 0) -> UpgradeAnswer {
        var i = max(0, start - 3)
        var end: Int?
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 {
                end = i + 4
                break
            }
            i += 1
        }
        guard let end else { return bytes.count > 16_384 ? .refused("handshake answer too long") : .incomplete }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let parts = head.prefix { $0 != "\r" }.split(separator: " ")
        guard parts.count >= 2, parts[1] == "101" else { return .refused(parts.count >= 2 ? "HTTP \(parts[1])" : "bad HTTP answer") }
        let lower = head.lowercased()
        guard lower.contains("\r\nupgrade: websocket"), lower.contains("\r\nsec-websocket-accept:") else {
            return .refused("101 without the WebSocket headers")
        }
        return .upgraded(headEnd: end, deflate: lower.contains("\r\nsec-websocket-extensions: permessage-deflate"))
    }
}
