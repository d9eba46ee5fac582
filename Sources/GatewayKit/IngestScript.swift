import RedisClient

/// The Lua script events go through (``EventPublisher``), several at a time. Redis runs it
/// atomically, so its checks hold across any number of gateways and concurrent requests. For each
/// event, in order:
/// 1. an event id the client chose and Redis remembers → the entry it became (nothing added);
/// 2. the client's rate limit, as a GCRA arrival time in Redis on Redis's clock: over budget →
///    the microseconds to wait (nothing taken from the budget);
/// 3. the stream's ceiling: as many entries as it may hold → refused;
/// 4. `XADD`, and the remembered id (expiring after the idempotency window).
/// The new arrival times are written once per client at the end (expiring when the budget is
/// whole again). An `XADD` that Redis refuses (out of memory, a failing disk) fails that event
/// alone: the events before it stay added and are answered as such.
///
/// `KEYS`: the stream, then for each event its client's rate-limit key and its event-id key.
/// `ARGV`: the rate limit's window in microseconds, the ceiling, then for each event the
/// microseconds it costs (0: not limited), the idempotency window in seconds (0: the id is the
/// gateway's), the number of its entry's fields and values, and those.
/// Replies `verdict, value` for each event: `added`/`repeated` with the entry id, `limited` with
/// the wait, `full`, `error` with Redis's message.
enum IngestScript {
    static let shared = RedisScript(
        """
        local stream = KEYS[1]
        local window, ceiling = tonumber(ARGV[1]), tonumber(ARGV[2])
        local length = redis.call('XLEN', stream)
        local now
        local arrivals = {}
        local replies = {}
        local a = 3
        for i = 1, (#KEYS - 1) / 2 do
          local rateKey, idKey = KEYS[2 * i], KEYS[2 * i + 1]
          local cost, idWindow, count = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
          local first = a + 3
          a = first + count
          local verdict, value, arrival
          if idWindow > 0 then
            local known = redis.call('GET', idKey)
            if known then verdict, value = 'repeated', known end
          end
          if not verdict and cost > 0 then
            if not now then
              local t = redis.call('TIME')
              now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            end
            arrival = math.max(arrivals[rateKey] or tonumber(redis.call('GET', rateKey) or '0'), now) + cost
            local excess = arrival - now - window
            if excess > 0 then verdict, value = 'limited', string.format('%d', excess) end
          end
          if not verdict and length >= ceiling then verdict, value = 'full', '' end
          if not verdict then
            local entry = redis.pcall('XADD', stream, '*', unpack(ARGV, first, a - 1))
            if type(entry) == 'table' and entry.err then
              verdict, value = 'error', entry.err
            else
              verdict, value = 'added', entry
              length = length + 1
              if arrival then arrivals[rateKey] = arrival end
              if idWindow > 0 then redis.pcall('SET', idKey, entry, 'EX', idWindow) end
            end
          end
          replies[#replies + 1] = verdict
          replies[#replies + 1] = value
        end
        for key, arrival in pairs(arrivals) do
          redis.pcall('SET', key, string.format('%d', arrival), 'PX', math.ceil((arrival - now) / 1000) + 1)
        end
        return replies
        """)
}
