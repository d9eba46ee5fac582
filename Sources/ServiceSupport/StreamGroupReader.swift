import AnalyticsCore
import RedisClient

/// The Redis side of a consumer group on the event stream: group creation, reads of new and pending
/// entries, claims of entries abandoned by dead consumers, acknowledgements, and the proof of life
/// read by the gateway's readiness. ``StreamConsumer`` does its I/O through it.
public struct StreamGroupReader: Sendable {
    /// The consumer group (`aggregator` or `archiver`).
    public let group: ConsumerGroup
    /// This consumer's name in the group.
    public let consumer: String
    /// Where the stream and the `alive` keys are.
    public let keyspace: RedisKeyspace
    /// Reads only (`XREADGROUP`): its socket timeout exceeds the BLOCK time, and a read blocked on it
    /// never holds up the other commands.
    public let reader: RedisClient
    /// Everything else: claims, acknowledgements, the processor's scripts and housekeeping.
    public let writer: RedisClient

    /// - Parameters:
    ///   - consumer: this consumer's name in the group (`ANALYTICS_CONSUMER_NAME`): stable across
    ///     restarts, so that a restarted consumer finds its own pending entries.
    ///   - reader: a client made with `RedisClient.blockingReader(_:name:registry:logger:)`.
    public init(group: ConsumerGroup, consumer: String, keyspace: RedisKeyspace, reader: RedisClient, writer: RedisClient) {
        self.group = group
        self.consumer = consumer
        self.keyspace = keyspace
        self.reader = reader
        self.writer = writer
    }

    /// Creates the group at the start of the stream, so events published before the consumer first
    /// ran are consumed too. An existing group is left as it is.
    /// - Throws: a Redis error other than `BUSYGROUP` (the group exists), or a connection error.
    public func ensureGroup() async throws {
        let reply = try await writer.pipeline([RedisCommand("XGROUP", "CREATE", keyspace.stream, group.name, "0", "MKSTREAM")])[0]
        if let message = reply.errorMessage, !message.hasPrefix("BUSYGROUP") {
            throw RedisError.server(message)
        }
    }

    /// Up to `count` new entries (`>`), waiting up to `block` for the first; or, with `pending`, up to
    /// `count` of this consumer's own pending entries (`0`), oldest first, without waiting.
    ///
    /// A pending entry trimmed from the stream meanwhile comes back without fields.
    /// - Returns: the entries; empty when none came within `block`.
    public func read(pending: Bool = false, block: Duration? = nil, count: Int) async throws -> [RedisStreamEntry] {
        var command = RedisCommand("XREADGROUP", "GROUP", group.name, consumer, "COUNT", String(count))
        if let block, !pending {
            command.append("BLOCK")
            command.append(String(max(1, block.inMilliseconds)))
        }
        command.append(contentsOf: ["STREAMS", keyspace.stream, pending ? "0" : ">"])
        let reply = try await reader.send(command, timeout: (block ?? .zero) + .seconds(5))
        return try RedisStreamEntry.fromRead(reply)
    }

    /// Takes over the entries pending with any consumer for longer than `idle`, `count` at a time,
    /// handing each page to `process` (which must acknowledge what it handles).
    /// - Returns: how many entries were claimed.
    public func claimAbandoned(idle: Duration, count: Int, _ process: ([RedisStreamEntry]) async throws -> Void) async throws -> Int {
        var cursor = "0-0"
        var claimed = 0
        repeat {
            let reply = try await writer.send(
                "XAUTOCLAIM", keyspace.stream, group.name, consumer, String(idle.inMilliseconds), cursor, "COUNT", String(count))
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

    /// Acknowledges entries (`XACK`, a thousand at a time). Acknowledging an entry that is no longer
    /// pending does nothing.
    public func acknowledge(_ ids: [String]) async throws {
        for chunk in stride(from: 0, to: ids.count, by: 1000) {
            var command = RedisCommand("XACK", keyspace.stream, group.name)
            command.append(contentsOf: Array(ids[chunk..<min(chunk + 1000, ids.count)]))
            try await writer.send(command)
        }
    }

    /// Proof of life for the gateway's `/readyz`: sets the group's `alive` key to this consumer's
    /// name for 15 s. A command rather than a method, so that processors pipeline it with their
    /// housekeeping.
    public var aliveCommand: RedisCommand {
        RedisCommand("SET", keyspace.consumerAlive(group: group), consumer, "PX", "15000")
    }
}
