import Crypto
import Synchronization

/// A Lua script run with `EVALSHA`, loaded on first use and again after `NOSCRIPT` (a restarted or
/// flushed Redis forgets its scripts). Redis runs a script atomically, which is what lets the
/// aggregator count and acknowledge a batch in one step. One instance may be shared by any tasks.
public final class RedisScript: Sendable {
    /// The Lua source, sent with `SCRIPT LOAD` whenever Redis does not know it.
    public let source: String
    private let sha = Mutex<String?>(nil)

    /// The script's SHA-1 in hex, as Redis names it: what `EVALSHA` sends.
    public let digest: String

    /// Does not contact Redis: the script is loaded by its first run.
    public init(_ source: String) {
        self.source = source
        digest = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }

    /// Runs the script without a task, for callers on an event loop: `EVALSHA`, and `EVAL` with the
    /// source when Redis does not know the script (it then keeps it for the next `EVALSHA`).
    /// - Parameters:
    ///   - client: the client to run it on.
    ///   - keys: the script's `KEYS`.
    ///   - arguments: the script's `ARGV`.
    ///   - timeout: the deadline of each round trip.
    ///   - then: called once with the reply (an error reply included, as a value) or what the
    ///     pipeline failed with, on one of the client's threads.
    public func run(
        on client: RedisClient, keys: [String], arguments: [String], timeout: Duration? = nil,
        then: @escaping @Sendable (Result<RedisValue, any Error>) -> Void
    ) {
        client.pipeline([command("EVALSHA", digest, keys: keys, arguments: arguments)], timeout: timeout) { [source] result in
            // NOSCRIPT: nothing ran; run it with its source, which also loads it.
            guard case .success(let replies) = result, replies[0].errorMessage?.hasPrefix("NOSCRIPT") == true else {
                return then(result.map { $0[0] })
            }
            client.pipeline([self.command("EVAL", source, keys: keys, arguments: arguments)], timeout: timeout) { retried in
                then(retried.map { $0[0] })
            }
        }
    }

    private func command(_ name: String, _ script: String, keys: [String], arguments: [String]) -> RedisCommand {
        var command = RedisCommand(name, script, String(keys.count))
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        return command
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
