import RedisClient

/// The Lua script every event goes through (``EventPublisher``). Redis runs it atomically, so its
/// checks hold across any number of gateways and concurrent requests:
/// 1. an event id the client chose and Redis remembers → the entry it became (nothing added);
/// 2. the client's rate limit, as a GCRA arrival time in Redis on Redis's clock: over budget →
///    the microseconds to wait (nothing taken from the budget);
/// 3. the stream's ceiling: `XLEN` at or above it → refused;
/// 4. `XADD`, then the new arrival time (expiring when the budget is whole again) and the
///    remembered id (expiring after the idempotency window).
///
/// `KEYS`: the stream, the client's rate-limit key, the event-id key. `ARGV`: the microseconds one
/// event costs (0: no limit), the limit's window in microseconds, the ceiling, the idempotency
/// window in seconds (0: the id is the gateway's), then the entry's fields and values.
/// Replies `{verdict, value}`: `added`/`repeated` with the entry id, `limited` with the wait,
/// `full`.
enum IngestScript {
    static let shared = RedisScript(
        """
        local idWindow = tonumber(ARGV[4])
        if idWindow > 0 then
          local known = redis.call('GET', KEYS[3])
          if known then return {'repeated', known} end
        end
        local cost = tonumber(ARGV[1])
        local now, arrival
        if cost > 0 then
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000000 + tonumber(t[2])
          arrival = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now) + cost
          local excess = arrival - now - tonumber(ARGV[2])
          if excess > 0 then return {'limited', string.format('%d', excess)} end
        end
        if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {'full', ''} end
        local entry = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
        if cost > 0 then
          redis.call('SET', KEYS[2], string.format('%d', arrival), 'PX', math.ceil((arrival - now) / 1000) + 1)
        end
        if idWindow > 0 then redis.call('SET', KEYS[3], entry, 'EX', idWindow) end
        return {'added', entry}
        """)
}
