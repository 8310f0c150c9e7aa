/// The Lua scripts behind ``RedisLockStore``: each lock operation is one
/// atomic script call, timed by Redis's clock.
///
/// Keys of one lock share the hash tag `{name}` so they stay in one Redis
/// Cluster slot:
/// - `lockd:{name}:lease` — hash `token fence owner ttl`, expiring by `PX`;
/// - `lockd:{name}:fence` — the fence counter;
/// - `lockd:{name}:queue` — waiters by arrival (sorted set, score = `seq`);
/// - `lockd:{name}:alive` — waiters' liveness deadlines in ms (sorted set);
/// - `lockd:{name}:seq` — the arrival counter.
///
/// Numbers are passed to `redis.call` through `string.format('%.0f')`:
/// Lua would otherwise write a 16-digit fence as `1.8e+15`.
enum RedisLockScripts {
    /// The channel on which release and queue changes name the waiter to wake.
    static let wakeupChannel = "lockd:wakeups"

    /// How long an idle fence counter is kept. Losing it is safe: a missing
    /// counter is seeded from Redis `TIME` in microseconds, which exceeds
    /// every fence issued before while no name takes a million leases a second.
    static let fenceRetentionMs = 7 * 24 * 3_600_000

    private static let prelude = """
        local function num(x) return string.format('%.0f', x) end
        local function clock()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        -- Drops waiters whose lockd stopped heart-beating from the head of
        -- the queue; returns the live head, or nil.
        local function live_head(queue, alive, now)
          while true do
            local head = redis.call('ZRANGE', queue, 0, 0)[1]
            if not head then return nil end
            if tonumber(redis.call('ZSCORE', alive, head) or '0') >= now then return head end
            redis.call('ZREM', queue, head)
            redis.call('ZREM', alive, head)
          end
        end
        local function wake(head, name)
          if head then redis.call('PUBLISH', '\(wakeupChannel)', name .. '\\n' .. head) end
        end

        """

    /// KEYS lease fence queue alive seq; ARGV token ttl owner waiter alive_ms.
    /// Returns `{1, fence, now, ttl, owner, is_retry}` when granted, else
    /// `{0, now, pttl, holder_fence, holder_owner, is_head}` (holder_fence 0:
    /// the lock is free but earlier waiters come first).
    static let acquire = prelude + """
        local now, now_us = clock()
        local lease, fence_key, queue, alive, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local token, ttl, owner, waiter, alive_ms = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
        local function leave_queue()
          if waiter ~= '' then
            redis.call('ZREM', queue, waiter)
            redis.call('ZREM', alive, waiter)
          end
        end
        local function join_queue()
          if waiter == '' then return end
          if not redis.call('ZSCORE', queue, waiter) then
            redis.call('ZADD', queue, redis.call('INCR', seq), waiter)
          end
          redis.call('ZADD', alive, num(now + alive_ms), waiter)
          for _, key in ipairs({queue, alive, seq}) do redis.call('PEXPIRE', key, alive_ms * 2) end
        end
        local current = redis.call('HMGET', lease, 'token', 'fence', 'owner')
        if current[1] then
          if current[1] == token then
            redis.call('HSET', lease, 'ttl', ttl)
            redis.call('PEXPIRE', lease, ttl)
            leave_queue()
            return {1, tonumber(current[2]), now, ttl, current[3] or '', 1}
          end
          join_queue()
          local is_head = 0
          if waiter ~= '' and live_head(queue, alive, now) == waiter then is_head = 1 end
          return {0, now, redis.call('PTTL', lease), tonumber(current[2]), current[3] or '', is_head}
        end
        local head = live_head(queue, alive, now)
        if head and head ~= waiter then
          join_queue()
          return {0, now, 0, 0, '', 0}
        end
        leave_queue()
        if redis.call('EXISTS', fence_key) == 0 then
          redis.call('SET', fence_key, num(now_us))
        end
        local fence = redis.call('INCR', fence_key)
        redis.call('PEXPIRE', fence_key, \(fenceRetentionMs))
        redis.call('HSET', lease, 'token', token, 'fence', num(fence), 'owner', owner, 'ttl', ttl)
        redis.call('PEXPIRE', lease, ttl)
        return {1, fence, now, ttl, owner, 0}
        """

    /// KEYS lease; ARGV token ttl (empty: keep). Returns `{1, fence, now, ttl,
    /// owner}` or `{0}` when the token does not hold the lock.
    static let renew = prelude + """
        local now = clock()
        local current = redis.call('HMGET', KEYS[1], 'token', 'fence', 'owner', 'ttl')
        if current[1] ~= ARGV[1] then return {0} end
        local ttl = tonumber(ARGV[2]) or tonumber(current[4])
        redis.call('HSET', KEYS[1], 'ttl', ttl)
        redis.call('PEXPIRE', KEYS[1], ttl)
        return {1, tonumber(current[2]), now, ttl, current[3] or ''}
        """

    /// KEYS lease queue alive; ARGV token name. Returns 1 when released (and
    /// wakes the head waiter), 0 when the token does not hold the lock.
    static let release = prelude + """
        local now = clock()
        if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        wake(live_head(KEYS[2], KEYS[3], now), ARGV[2])
        return 1
        """

    /// KEYS lease; returns `{now, pttl, fence, owner}` (pttl < 0: free).
    static let status = prelude + """
        local now = clock()
        local current = redis.call('HMGET', KEYS[1], 'fence', 'owner')
        if not current[1] then return {now, -2, 0, ''} end
        return {now, redis.call('PTTL', KEYS[1]), tonumber(current[1]), current[2] or ''}
        """

    /// KEYS queue alive; ARGV waiter name. Leaves the queue; when the waiter
    /// was at the head, wakes the next one so it takes over.
    static let removeWaiter = prelude + """
        local now = clock()
        local before = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        if before == ARGV[1] then wake(live_head(KEYS[1], KEYS[2], now), ARGV[2]) end
        return 1
        """

    /// KEYS queue alive seq lease; ARGV alive_ms name waiter…. Refreshes the
    /// listed waiters' liveness, drops dead heads, and wakes the head when
    /// the lock is free or the head changed (a wake-up may have been lost).
    static let heartbeat = prelude + """
        local now = clock()
        local alive_ms = tonumber(ARGV[1])
        for i = 3, #ARGV do
          if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
            redis.call('ZADD', KEYS[2], num(now + alive_ms), ARGV[i])
          end
        end
        for i = 1, 3 do
          if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], alive_ms * 2) end
        end
        local before = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
        local head = live_head(KEYS[1], KEYS[2], now)
        if head and (head ~= before or redis.call('EXISTS', KEYS[4]) == 0) then wake(head, ARGV[2]) end
        return 1
        """
}
