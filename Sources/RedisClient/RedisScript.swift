import Synchronization

/// A Lua script run with `EVALSHA`, loaded on first use and again after `NOSCRIPT` (a restarted or
/// flushed Redis forgets its scripts). Redis runs a script atomically, which is what lets the
/// aggregator count and acknowledge a batch in one step. One instance may be shared by any tasks.
public final class RedisScript: Sendable {
    /// The Lua source, sent with `SCRIPT LOAD` whenever Redis does not know it.
    public let source: String
    private let sha = Mutex<String?>(nil)

    /// Does not contact Redis: the script is loaded by its first run.
    public init(_ source: String) {
        self.source = source
    }

    /// Runs the script, loading it first if needed.
    /// - Parameters:
    ///   - client: the client to run it on.
    ///   - keys: the script's `KEYS`.
    ///   - arguments: the script's `ARGV`.
    ///   - timeout: the deadline of each round trip; loading the script, when needed, takes rounds of
    ///     its own, so the whole call may take longer.
    /// - Returns: the script's reply.
    /// - Throws: ``RedisError/server(_:)`` for an error reply (the writes the script made before it
    ///   are kept: Redis does not roll a script back), ``RedisError/unexpectedReply(_:)`` when
    ///   `SCRIPT LOAD` answers no digest, or what ``RedisClient/pipeline(_:timeout:)`` throws.
    public func run(on client: RedisClient, keys: [String], arguments: [String], timeout: Duration? = nil) async throws -> RedisValue {
        for _ in 0..<2 {
            let digest: String
            if let known = sha.withLock({ $0 }) {
                digest = known
            } else {
                guard let loaded = try await client.send(RedisCommand("SCRIPT", "LOAD", source), timeout: timeout).string else {
                    throw RedisError.unexpectedReply("SCRIPT LOAD")
                }
                sha.withLock { $0 = loaded }
                digest = loaded
            }
            var command = RedisCommand("EVALSHA", digest, String(keys.count))
            command.append(contentsOf: keys)
            command.append(contentsOf: arguments)
            let reply = try await client.pipeline([command], timeout: timeout)[0]
            if let message = reply.errorMessage {
                if message.hasPrefix("NOSCRIPT") {
                    sha.withLock { $0 = nil }
                    continue
                }
                throw RedisError.server(message)
            }
            return reply
        }
        throw RedisError.server("NOSCRIPT after loading the script")
    }
}
