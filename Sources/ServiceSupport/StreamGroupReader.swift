import AnalyticsCore
import RedisClient

/// The Redis side of a consumer group on the event stream, shared by the aggregator and the
/// archiver: group creation, reads of new and pending entries, claims of entries abandoned by dead
/// consumers, acknowledgements and the proof of life read by the gateway's readiness.
public struct StreamGroupReader: Sendable {
    public let group: String
    public let consumer: String
    public let keyspace: RedisKeyspace
    /// Blocking reads only: its socket timeout exceeds the BLOCK time.
    public let reader: RedisClient
    /// Everything else.
    public let writer: RedisClient
    public var batchSize: Int
    /// An entry pending this long with another consumer is presumed abandoned.
    public var claimIdle: Duration

    public init(
        group: String, consumer: String, keyspace: RedisKeyspace, reader: RedisClient, writer: RedisClient, batchSize: Int,
        claimIdle: Duration = .seconds(30)
    ) {
        self.group = group
        self.consumer = consumer
        self.keyspace = keyspace
        self.reader = reader
        self.writer = writer
        self.batchSize = batchSize
        self.claimIdle = claimIdle
    }

    /// Creates the group at the start of the stream, so events published before the consumer first
    /// ran are consumed too. An existing group is left as it is.
    public func ensureGroup() async throws {
        let reply = try await writer.pipeline([RedisCommand("XGROUP", "CREATE", keyspace.stream, group, "0", "MKSTREAM")])[0]
        if let message = reply.errorMessage, !message.hasPrefix("BUSYGROUP") {
            throw RedisError.server(message)
        }
    }

    /// New entries (`>`), waiting up to `block`; or this consumer's pending entries (`0`), not waiting.
    public func read(pending: Bool = false, block: Duration? = nil, count: Int? = nil) async throws -> [RedisStreamEntry] {
        var command = RedisCommand("XREADGROUP", "GROUP", group, consumer, "COUNT", String(count ?? batchSize))
        if let block, !pending {
            command.append("BLOCK")
            command.append(String(max(1, Self.milliseconds(block))))
        }
        command.append(contentsOf: ["STREAMS", keyspace.stream, pending ? "0" : ">"])
        let reply = try await reader.send(command, timeout: (block ?? .zero) + .seconds(5))
        return try RedisStreamEntry.fromRead(reply)
    }

    /// Takes over entries left pending by other consumers for longer than `claimIdle`, one page at a
    /// time, handing each page to `process` (which must acknowledge what it handles).
    public func claimAbandoned(_ process: ([RedisStreamEntry]) async throws -> Void) async throws -> Int {
        var cursor = "0-0"
        var claimed = 0
        repeat {
            let reply = try await writer.send(
                "XAUTOCLAIM", keyspace.stream, group, consumer, String(Self.milliseconds(claimIdle)), cursor, "COUNT",
                String(batchSize))
            guard let parts = reply.array, parts.count >= 2, let next = parts[0].string else {
                throw RedisError.unexpectedReply("XAUTOCLAIM")
            }
            let entries = try RedisStreamEntry.list(from: parts[1])
            if !entries.isEmpty {
                claimed += entries.count
                try await process(entries)
            }
            cursor = next
        } while cursor != "0-0"
        return claimed
    }

    public func acknowledge(_ ids: [String]) async throws {
        for chunk in stride(from: 0, to: ids.count, by: 1000) {
            var command = RedisCommand("XACK", keyspace.stream, group)
            command.append(contentsOf: Array(ids[chunk..<min(chunk + 1000, ids.count)]))
            try await writer.send(command)
        }
    }

    /// Proof of life for the gateway's `/readyz` (expires after 15 s).
    public var aliveCommand: RedisCommand {
        RedisCommand("SET", keyspace.consumerAlive(group: group), consumer, "PX", "15000")
    }

    static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds) * 1000 + Int(d.components.attoseconds / 1_000_000_000_000_000)
    }
}
