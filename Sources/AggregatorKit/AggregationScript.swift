import RedisClient

/// The aggregator's batch, applied atomically by Redis. For each entry, `XACK` is the test-and-set
/// of exactly-once: it answers 1 only if the entry was still pending in the group, so an entry
/// delivered twice (a crash before the ack, a claim by another consumer) is counted by whichever
/// script acknowledges it first, and by no other. Counting and recording progress are one step.
///
/// KEYS: 1 stream, 2 active visitors, 3 top themes, 4 today's unique-visitor HLL, 5 dead letters,
///       then 9 keys per day group: total day/week/month, letters day/week/month, HLL day/week/month.
/// ARGV: 1 group, 2 active window ms, 3 theme cap, 4 G day groups, 5 D dead entries,
///       then 3 expiry times per group (day, week, month; Unix seconds),
///       then 2 per dead entry (id, reason),
///       then 6 per entry (id, visitor, group 1…G, kind "" | "t" | "l", dimension, created-at ms).
/// Returns: { applied flags ("1"/"0" per entry), new day-uniques, current visitors, unique today,
///            { theme, new score, … } }.
enum AggregationScript {
    static let script = RedisScript(source)

    static let keysPerGroup = 9
    static let fixedKeys = 5
    static let argumentsPerEntry = 6

    static let source = """
    local stream, active, themes, today, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
    local group = ARGV[1]
    local window = tonumber(ARGV[2])
    local themeCap = tonumber(ARGV[3])
    local G = tonumber(ARGV[4])
    local D = tonumber(ARGV[5])
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local cutoff = now - window

    local a = 5 + 3 * G
    for i = 0, D - 1 do
      local id, reason = ARGV[a + 2 * i + 1], ARGV[a + 2 * i + 2]
      if redis.call('XACK', stream, group, id) == 1 then
        redis.call('XADD', dead, 'MAXLEN', '~', '100000', '*', 'entry', id, 'group', group, 'reason', reason)
      end
    end
    a = a + 2 * D

    local totals, letters, visitors, seen = {}, {}, {}, {}
    for g = 1, G do totals[g] = 0; letters[g] = 0; visitors[g] = {}; seen[g] = {} end
    local themeViews, activeSeen = {}, {}
    local flags = {}
    local n = (#ARGV - a) / 6
    for i = 0, n - 1 do
      local b = a + 6 * i
      if redis.call('XACK', stream, group, ARGV[b + 1]) == 1 then
        flags[#flags + 1] = '1'
        local visitor, g, kind = ARGV[b + 2], tonumber(ARGV[b + 3]), ARGV[b + 4]
        totals[g] = totals[g] + 1
        if not seen[g][visitor] then
          seen[g][visitor] = true
          local v = visitors[g]
          v[#v + 1] = visitor
        end
        if kind == 't' then
          local theme = ARGV[b + 5]
          themeViews[theme] = (themeViews[theme] or 0) + 1
        elseif kind == 'l' then
          letters[g] = letters[g] + 1
        end
        local ts = tonumber(ARGV[b + 6])
        if ts > cutoff and (activeSeen[visitor] == nil or ts > activeSeen[visitor]) then
          activeSeen[visitor] = ts
        end
      else
        flags[#flags + 1] = '0'
      end
    end

    local newUniques = 0
    for g = 1, G do
      local k = 5 + (g - 1) * 9
      local e = 5 + (g - 1) * 3
      if totals[g] > 0 then
        for p = 0, 2 do
          redis.call('INCRBY', KEYS[k + 1 + p], totals[g])
          redis.call('EXPIREAT', KEYS[k + 1 + p], ARGV[e + 1 + p])
        end
        if letters[g] > 0 then
          for p = 0, 2 do
            redis.call('INCRBY', KEYS[k + 4 + p], letters[g])
            redis.call('EXPIREAT', KEYS[k + 4 + p], ARGV[e + 1 + p])
          end
        end
        local before = redis.call('PFCOUNT', KEYS[k + 7])
        local v = visitors[g]
        for p = 0, 2 do
          for c = 1, #v, 1000 do
            redis.call('PFADD', KEYS[k + 7 + p], unpack(v, c, math.min(c + 999, #v)))
          end
          redis.call('EXPIREAT', KEYS[k + 7 + p], ARGV[e + 1 + p])
        end
        newUniques = newUniques + redis.call('PFCOUNT', KEYS[k + 7]) - before
      end
    end

    local themeScores = {}
    local touched = false
    for theme, count in pairs(themeViews) do
      themeScores[#themeScores + 1] = theme
      themeScores[#themeScores + 1] = redis.call('ZINCRBY', themes, count, theme)
      touched = true
    end
    if touched and redis.call('ZCARD', themes) > themeCap then
      redis.call('ZREMRANGEBYRANK', themes, 0, -(themeCap + 1))
    end

    local members = {}
    for visitor, ts in pairs(activeSeen) do
      members[#members + 1] = ts
      members[#members + 1] = visitor
      if #members >= 1000 then
        redis.call('ZADD', active, 'GT', unpack(members))
        members = {}
      end
    end
    if #members > 0 then redis.call('ZADD', active, 'GT', unpack(members)) end
    redis.call('ZREMRANGEBYSCORE', active, '-inf', cutoff)

    return { table.concat(flags), newUniques, redis.call('ZCARD', active), redis.call('PFCOUNT', today), themeScores }
    """
}
