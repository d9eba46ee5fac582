/// RFC 6455 frames from the hub, read as the bytes come (any split), for both kinds of ws-load
/// connection: a message is handed over whole (`keepsWholeMessages`, the sampled connections) or as
/// its first bytes, enough to tell its type (`{"type":"…"`); control frames are handed over whole.
struct FrameReader {
    enum Item {
        case message(opcode: UInt8, compressed: Bool, bytes: [UInt8])
        case control(opcode: UInt8, payload: [UInt8])
    }

    /// Bytes kept of a message when not whole.
    static let prefixLength = 24

    let keepsWholeMessages: Bool
    /// permessage-deflate was accepted: compressed messages (RSV1) are allowed.
    var deflateNegotiated = false
    /// Payload bytes of data frames read so far.
    private(set) var payloadBytes = 0
    /// Frames the hub should not have sent that way (masked, stray RSV bits) since the last `takeProtocolErrors`.
    private var protocolErrors = 0

    private var header: [UInt8] = []
    private var headerLength = 2
    private var remaining: UInt64 = 0
    private var inPayload = false
    private var frameOpcode: UInt8 = 0
    private var frameFin = false
    private var messageOpcode: UInt8 = 0
    private var messageCompressed = false
    private var message: [UInt8] = []
    private var control: [UInt8] = []

    init(keepsWholeMessages: Bool) {
        self.keepsWholeMessages = keepsWholeMessages
        header.reserveCapacity(14)
    }

    mutating func takeProtocolErrors() -> Int {
        defer { protocolErrors = 0 }
        return protocolErrors
    }

    /// Reads `bytes`, calling `handle` for each message and control frame completed.
    mutating func consume(_ bytes: UnsafeRawBufferPointer, _ handle: (Item) -> Void) {
        var i = 0
        while i < bytes.count {
            if !inPayload {
                header.append(bytes[i])
                i += 1
                if header.count == 2 {
                    let len7 = header[1] & 0x7F
                    headerLength = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (header[1] & 0x80 != 0 ? 4 : 0)
                }
                if header.count >= 2, header.count == headerLength { startFrame(handle) }
                continue
            }
            let n = Int(min(UInt64(bytes.count - i), remaining))
            if frameOpcode >= 0x8 {
                control.append(contentsOf: bytes[i..<(i + n)])
            } else {
                let kept = keepsWholeMessages ? n : min(n, max(0, Self.prefixLength - message.count))
                message.append(contentsOf: bytes[i..<(i + kept)])
                payloadBytes += n
            }
            i += n
            remaining -= UInt64(n)
            if remaining == 0 { endFrame(handle) }
        }
    }

    private mutating func startFrame(_ handle: (Item) -> Void) {
        frameFin = header[0] & 0x80 != 0
        frameOpcode = header[0] & 0x0F
        if header[1] & 0x80 != 0 { protocolErrors += 1 }  // a server must not mask
        switch header[1] & 0x7F {
        case 126: remaining = UInt64(header[2]) << 8 | UInt64(header[3])
        case 127: remaining = header[2..<10].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        case let len7: remaining = UInt64(len7)
        }
        if frameOpcode != 0, frameOpcode < 0x8 {
            messageOpcode = frameOpcode
            messageCompressed = header[0] & 0x40 != 0
            if messageCompressed, !deflateNegotiated { protocolErrors += 1 }  // RSV1 not negotiated
        } else if header[0] & 0x70 != 0 {
            protocolErrors += 1  // RSV bits belong on a message's first frame only
        }
        inPayload = true
        if remaining == 0 { endFrame(handle) }
    }

    private mutating func endFrame(_ handle: (Item) -> Void) {
        inPayload = false
        header.removeAll(keepingCapacity: true)
        headerLength = 2
        if frameOpcode >= 0x8 {
            handle(.control(opcode: frameOpcode, payload: control))
            control.removeAll(keepingCapacity: true)
        } else if frameFin {
            handle(.message(opcode: messageOpcode, compressed: messageCompressed, bytes: message))
            message.removeAll(keepingCapacity: true)
        }
    }
}
