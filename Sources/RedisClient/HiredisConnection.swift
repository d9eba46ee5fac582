import AnalyticsCore
import CHiredis

#if canImport(Glibc)
import Glibc
#endif

/// The one owner of a hiredis context: it frees it in `deinit`. A blocking connection, so it is used
/// by exactly one thread (its `RedisClient`'s worker) and never shared; hence not `Sendable`.
final class HiredisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    static let retainedReadBuffer = 4 << 20

    /// Connects, authenticates and selects the database. Throws `.unavailable` on any failure.
    init(endpoint: RedisEndpoint, connectTimeout: Duration, commandTimeout: Duration, clientName: String) throws(RedisError) {
        let connectTV = Self.timeval(connectTimeout)
        let made: UnsafeMutablePointer<redisContext>?
        switch endpoint.location {
        case .tcp(let host, let port):
            made = redisConnectWithTimeout(host, Int32(port), connectTV)
        case .unixSocket(let path):
            made = redisConnectUnixWithTimeout(path, connectTV)
        }
        guard let made else { throw .unavailable("cannot allocate a hiredis context") }
        context = made
        if context.pointee.err != 0 {
            throw .unavailable(errorString)  // deinit frees the context
        }
        guard redisSetTimeout(context, Self.timeval(commandTimeout)) == REDIS_OK else {
            throw .unavailable("cannot set the socket timeout: \(errorString)")
        }
        // hiredis frees its read buffer whenever it is empty with more than 16 KB spare, so every
        // large reply (a batch of stream entries) would grow it again from nothing, in several
        // large allocations. Keep up to 4 MB.
        context.pointee.reader.pointee.maxbuf = Self.retainedReadBuffer
        var setup: [RedisCommand] = []
        if let password = endpoint.password {
            setup.append(endpoint.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if endpoint.database != 0 {
            setup.append(RedisCommand("SELECT", String(endpoint.database)))
        }
        setup.append(RedisCommand("CLIENT", "SETNAME", clientName))
        let replies: [RedisValue]
        do {
            replies = try roundTrip(setup)
        } catch {
            throw .unavailable("\(error)")
        }
        for (command, reply) in zip(setup, replies) {
            if let message = reply.errorMessage {
                throw .unavailable("\(command.name) refused: \(message)")
            }
        }
    }

    deinit {
        redisFree(context)
    }

    private var errorString: String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Writes every command in one go, then reads one reply per command (a pipeline).
    /// Throws `.connectionLost` once anything may have been written; the connection is then unusable.
    func roundTrip(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        for command in commands {
            try append(command)
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            replies.append(try readReply())
        }
        return replies
    }

    func append(_ command: RedisCommand) throws(RedisError) {
        let status: Int32 = command.storage.withUnsafeBufferPointer { storage in
            command.lengths.withUnsafeBufferPointer { lengths in
                let base = UnsafeRawPointer(storage.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                var pointers: [UnsafePointer<CChar>?] = []
                pointers.reserveCapacity(lengths.count)
                var offset = 0
                for length in lengths {
                    pointers.append((base + offset).assumingMemoryBound(to: CChar.self))
                    offset += length
                }
                return pointers.withUnsafeMutableBufferPointer { argv in
                    redisAppendCommandArgv(context, Int32(lengths.count), argv.baseAddress, lengths.baseAddress)
                }
            }
        }
        guard status == REDIS_OK else { throw .connectionLost(errorString) }
    }

    func readReply() throws(RedisError) -> RedisValue {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw .connectionLost(errorString.isEmpty ? "no reply" : errorString)
        }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    // MARK: Non-blocking reads, for subscriptions (the reply stream has no request to wait on)

    var fileDescriptor: Int32 { context.pointee.fd }

    /// A reply already read into hiredis's buffer, without touching the socket; nil if none is whole.
    func bufferedReply() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw .connectionLost(errorString) }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Reads what the socket holds into the buffer (call when it is readable); throws at end of stream.
    func readAvailable() throws(RedisError) {
        guard redisBufferRead(context) == REDIS_OK else { throw .connectionLost(errorString.isEmpty ? "closed" : errorString) }
    }

    /// Writes the appended commands out.
    func flush() throws(RedisError) {
        var done: Int32 = 0
        repeat {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw .connectionLost(errorString) }
        } while done == 0
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .bulk([]) }
            return .bulk(Array(UnsafeRawBufferPointer(start: str, count: r.len)))
        case REDIS_REPLY_STATUS:
            return .status(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            // `element` is NULL for an empty array.
            guard let elements = r.element, r.elements > 0 else { return .array([]) }
            var values: [RedisValue] = []
            values.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                values.append(elements[i].map(copy) ?? .null)
            }
            return .array(values)
        default:
            return .null
        }
    }

    private static func timeval(_ d: Duration) -> timeval {
        let (seconds, attoseconds) = d.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
