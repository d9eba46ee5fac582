import RedisClient

/// The aggregator's batch, applied atomically by Redis. For each entry, `XACK` is the test-and-set
/// of exactly-once: it answers 1 only if the entry was still pending in the group, so an entry
/// delivered twice (a crash before the ack, a claim by another consumer) is counted by whichever
/// script acknowledges it first, and by no other. Counting and recording progress are one step.
/// (Measured alternative: one `XPENDING` range read plus one bulk `XACK` costs Redis as much.)
/// Only the counters need that gate: adding a visitor to a HyperLogLog or the active window again
/// changes nothing, so those arguments come precomputed and deduplicated per batch.
///
/// KEYS: 1 stream, 2 active visitors, 3 top themes, 4 today's unique-visitor HLL, 5 dead letters,
///       then 9 keys per day group: total day/week/month, letters day/week/month, HLL day/week/month.
/// ARGV: 1 group, 2 active window ms, 3 theme cap, 4 G day groups, 5 D dead entries, 6 E entries,
///       then 3 expiry times per group (day, week, month; Unix seconds),
///       then 2 per dead entry (id, reason),
///       then per group: the number of its distinct visitors, then those visitors,
///       then the number A of active visitors, then A pairs (last-seen ms, visitor),
///       then R and R runs (length, group 1…G) giving the day group of the entries in order,
///       then M and M pairs (entry number 1…E, dimension "t" + theme | "l" + letter type),
///       then the E entry ids.
/// Returns: { applied flags ("1"/"0" per entry), new day-uniques, current visitors, unique today,
///            { theme, new score, … } }.
enum AggregationScript {
    static let script = RedisScript(source)

    static let keysPerGroup = 9
    static let fixedKeys = 5
    static let argumentsPerEntry = 1

    static let source = """
        local stream, active, themes, today, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local group = ARGV[1]
        local window = tonumber(ARGV[2])
        local themeCap = tonumber(ARGV[3])
        local G, D, E = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local t = redis.call('TIME')
        local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - window

        local a = 6 + 3 * G
        for i = 0, D - 1 do
          local id, reason = ARGV[a + 2 * i + 1], ARGV[a + 2 * i + 2]
          if redis.call('XACK', stream, group, id) == 1 then
            redis.call('XADD', dead, 'MAXLEN', '~', '100000', '*', 'entry', id, 'group', group, 'reason', reason)
          end
        end
        a = a + 2 * D

        local newUniques = 0
        for g = 1, G do
          local k, e = 5 + (g - 1) * 9, 6 + (g - 1) * 3
          local n = tonumber(ARGV[a + 1])
          local before = redis.call('PFCOUNT', KEYS[k + 7])
          for p = 0, 2 do
            for c = a + 2, a + 1 + n, 1000 do
              redis.call('PFADD', KEYS[k + 7 + p], unpack(ARGV, c, math.min(c + 999, a + 1 + n)))
            end
            redis.call('EXPIREAT', KEYS[k + 7 + p], ARGV[e + 1 + p])
          end
          newUniques = newUniques + redis.call('PFCOUNT', KEYS[k + 7]) - before
          a = a + 1 + n
        end

        local A = tonumber(ARGV[a + 1])
        for c = a + 2, a + 1 + 2 * A, 1000 do
          redis.call('ZADD', active, 'GT', unpack(ARGV, c, math.min(c + 999, a + 1 + 2 * A)))
        end
        redis.call('ZREMRANGEBYSCORE', active, '-inf', cutoff)
        a = a + 1 + 2 * A

        local groupOf = {}
        local R = tonumber(ARGV[a + 1])
        local n = 0
        for r = 0, R - 1 do
          local length, g = tonumber(ARGV[a + 2 + 2 * r]), tonumber(ARGV[a + 3 + 2 * r])
          for i = n + 1, n + length do groupOf[i] = g end
          n = n + length
        end
        a = a + 1 + 2 * R
        local dims = {}
        local M = tonumber(ARGV[a + 1])
        for m = 0, M - 1 do dims[tonumber(ARGV[a + 2 + 2 * m])] = ARGV[a + 3 + 2 * m] end
        a = a + 1 + 2 * M

        local totals, letters, themeViews = {}, {}, {}
        for g = 1, G do totals[g] = 0; letters[g] = 0 end
        local flags = {}
        for i = 1, E do
          if redis.call('XACK', stream, group, ARGV[a + i]) == 1 then
            flags[i] = '1'
            local g = groupOf[i]
            totals[g] = totals[g] + 1
            local dim = dims[i]
            if dim then
              local kind = string.sub(dim, 1, 1)
              if kind == 't' then
                local theme = string.sub(dim, 2)
                themeViews[theme] = (themeViews[theme] or 0) + 1
              elseif kind == 'l' then
                letters[g] = letters[g] + 1
              end
            end
          else
            flags[i] = '0'
          end
        end

        for g = 1, G do
          local k, e = 5 + (g - 1) * 9, 6 + (g - 1) * 3
          if totals[g] > 0 then
            for p = 0, 2 do
              redis.call('INCRBY', KEYS[k + 1 + p], totals[g])
              redis.call('EXPIREAT', KEYS[k + 1 + p], ARGV[e + 1 + p])
            end
          end
          if letters[g] > 0 then
            for p = 0, 2 do
              redis.call('INCRBY', KEYS[k + 4 + p], letters[g])
              redis.call('EXPIREAT', KEYS[k + 4 + p], ARGV[e + 1 + p])
            end
          end
        end

        local themeScores = {}
        for theme, count in pairs(themeViews) do
          themeScores[#themeScores + 1] = theme
          themeScores[#themeScores + 1] = redis.call('ZINCRBY', themes, count, theme)
        end
        if #themeScores > 0 and redis.call('ZCARD', themes) > themeCap then
          redis.call('ZREMRANGEBYRANK', themes, 0, -(themeCap + 1))
        end

        return { table.concat(flags), newUniques, redis.call('ZCARD', active), redis.call('PFCOUNT', today), themeScores }
        """
}
