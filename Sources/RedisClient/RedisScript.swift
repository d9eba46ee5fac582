import Synchronization

/// A Lua script run with `EVALSHA`, loaded on first use and again after `NOSCRIPT` (a restarted or
/// flushed Redis forgets its scripts).
public final class RedisScript: Sendable {
    public let source: String
    private let sha = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    /// Runs the script; an error reply is thrown as `.server`.
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
