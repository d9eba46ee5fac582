import Foundation

/// The kernel's IPv4 TCP sockets (/proc/net/tcp), read for the hub's end of the stalled
/// connections: a hub that gives up on a client closes a socket the client no longer reads.
enum KernelTCPTable {
    struct Entry {
        let state: Int
        let sendQueue: Int
        let inode: Int
    }

    /// Sockets whose local port is `serverPort` and remote port one of `clientPorts`, by remote port
    /// (IPv4 loopback only: /proc/net/tcp).
    static func hubSide(serverPort: Int, clientPorts: Set<Int>) -> [Int: Entry] {
        // Read to the end: /proc files have no size.
        guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? file.readToEnd() else { return [:] }
        try? file.close()
        var out: [Int: Entry] = [:]
        // 20,000 lines with 10,000 connections, read every second while the test runs: the fixed
        // columns are looked at in place, and only the few lines wanted are split into fields.
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                defer { start = end + 1 }
                // "%4d: %08X:%04X %08X:%04X %02X %08X:%08X …": columns counted from the first colon.
                guard let colon = bytes[start..<end].firstIndex(of: UInt8(ascii: ":")), colon + 41 <= end,
                    hex(bytes, colon + 11, 4) == serverPort, let remotePort = hex(bytes, colon + 25, 4), clientPorts.contains(remotePort)
                else { continue }
                let fields = bytes[start..<end].split(separator: UInt8(ascii: " "))
                guard fields.count >= 10 else { continue }
                out[remotePort] = Entry(
                    state: hex(bytes, colon + 30, 2) ?? 0,
                    sendQueue: hex(bytes, colon + 33, 8) ?? 0,
                    inode: Int(String(decoding: fields[9], as: UTF8.self)) ?? 0)
            }
        }
        return out
    }

    /// The `count` hexadecimal digits at `offset`, if they are all there and valid.
    private static func hex(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ count: Int) -> Int? {
        guard offset + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[offset..<(offset + count)] {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = value << 4 | Int(byte - UInt8(ascii: "A") + 10)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | Int(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        return value
    }

    static func stateName(_ state: Int) -> String {
        switch state {
        case 1: "ESTABLISHED"
        case 2: "SYN_SENT"
        case 3: "SYN_RECV"
        case 4: "FIN_WAIT1"
        case 5: "FIN_WAIT2"
        case 6: "TIME_WAIT"
        case 7: "CLOSE"
        case 8: "CLOSE_WAIT"
        case 9: "LAST_ACK"
        case 10: "LISTEN"
        case 11: "CLOSING"
        default: "state \(state)"
        }
    }
}
