/// The Lua scripts behind ``RedisLockStore``: each lock operation is one
/// atomic script call, timed by Redis's clock.
///
/// Keys of one lock share the hash tag `{name}` so they stay in one Redis
/// Cluster slot:
/// - `lockd:{name}:lease` — hash `token fence owner ttl`, expiring by `PX`;
/// - `lockd:{name}:fence` — the fence counter;
/// - `lockd:{name}:waiters` — the FIFO queue (sorted set, score = arrival
///   number, one more than the last one's; member = `INSTANCE:WAITER`, the
///   lockd instance's id first).
///
/// Liveness is per lockd instance, not per waiter: an instances key (sorted
/// set, member = instance id, score = the time in ms until which it counts as
/// alive) is beaten by each instance a few times a second, so the cost of
/// keeping waiters alive does not grow with their number. Its name comes from
/// ``RedisLivenessKeys``: one key on a single server, one per Cluster slot in
/// the name's slot, so every script declares all the keys it touches.
///
/// Changes to a queue are announced on ``wakeupChannel`` as
/// `name\nrecheck_ms\nmember…`: the members to wake now (of any instance),
/// and when every instance's first waiter on the name should look again if
/// nothing else wakes it (empty: no change).
///
/// Numbers are passed to `redis.call` through `string.format('%.0f')`:
/// Lua would otherwise write a 16-digit fence as `1.8e+15`.
enum RedisLockScripts {
    /// The channel on which queue changes are announced.
    static let wakeupChannel = "lockd:waiting"

    /// How long an idle fence counter is kept. Losing it is safe: a missing
    /// counter is seeded from Redis `TIME` in microseconds, which exceeds
    /// every fence issued before while no name takes a million leases a second.
    static let fenceRetentionMs = 7 * 24 * 3_600_000

    /// How long an instance that stopped beating stays in the instances key.
    static let instanceRetentionMs = 600_000

    /// Length of an instance id: a member's first 16 characters.
    static let instanceIDLength = 16

    private static let prelude = """
        local function num(x) return string.format('%.0f', x) end
        local function clock()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        local function instance_of(member) return string.sub(member, 1, \(instanceIDLength)) end
        -- Appends a member to the queue's tail (or moves it there).
        local function append(queue, member)
          local last = redis.call('ZRANGE', queue, -1, -1, 'WITHSCORES')[2]
          redis.call('ZADD', queue, num((tonumber(last) or 0) + 1), member)
        end
        -- Keeps a key at least `ms` longer.
        local function retain(key, ms)
          local ttl = redis.call('PTTL', key)
          if ttl ~= -2 and ttl < ms then redis.call('PEXPIRE', key, ms) end
        end
        -- The queue's live head, dropping waiters whose lockd stopped beating:
        -- returns the head (or nil), whether any were dropped, and how long
        -- the head's lockd counts as alive without another beat.
        local function live_head(queue, instances, now)
          local dropped, alive = false, {}
          while true do
            local head = redis.call('ZRANGE', queue, 0, 0)[1]
            if not head then return nil, dropped, 0 end
            local instance = instance_of(head)
            if alive[instance] == nil then
              alive[instance] = tonumber(redis.call('ZSCORE', instances, instance) or '0')
            end
            if alive[instance] > now then return head, dropped, alive[instance] - now end
            redis.call('ZREM', queue, head)
            dropped = true
          end
        end
        local function announce(name, recheck, member)
          redis.call('PUBLISH', '\(wakeupChannel)', name .. '\\n' .. recheck .. '\\n' .. (member or ''))
        end
        -- Tells the queue's new head what to do after it moved up: look
        -- again when the lease ends, or take the lock now.
        local function announce_head(name, queue, instances, lease, now)
          local pttl = redis.call('PTTL', lease)
          if pttl > 0 then
            if redis.call('EXISTS', queue) == 1 then announce(name, pttl, nil) end
            return
          end
          local head, _, alive = live_head(queue, instances, now)
          if head then announce(name, alive, head) end
        end

        """

    /// KEYS lease fence waiters instances; ARGV token ttl owner
    /// member window_ms retention_ms name (member empty: no waiting).
    /// Returns `{1, fence, now, ttl, owner, is_retry, recheck_ms}` when granted
    /// (recheck_ms > 0: the queue's next waiter is the caller's instance's,
    /// and should look again then), else
    /// `{0, now, pttl, holder_fence, holder_owner, recheck_ms, head}`
    /// (holder_fence 0: the lock is free but the waiter `head` comes first).
    static let acquire = prelude + """
        local now, now_us = clock()
        local lease, fence_key, queue, instances = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
        local token, ttl, owner, member = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
        local window, retention, name = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
        local function join_queue()
          if member == '' then return end
          -- The beat keeps this fresh; a first waiter (or one after a long
          -- stall) must not count as gone before the next beat.
          local me = instance_of(member)
          if tonumber(redis.call('ZSCORE', instances, me) or '0') < now + window / 2 then
            redis.call('ZADD', instances, num(now + window), me)
          end
          if not redis.call('ZSCORE', queue, member) then append(queue, member) end
          retain(queue, retention)
        end
        -- Leaves the queue; a head that leaves passes the watch on.
        local function leave_queue()
          if member == '' then return end
          local before = redis.call('ZRANGE', queue, 0, 0)[1]
          if redis.call('ZREM', queue, member) == 1 and before == member then
            announce_head(name, queue, instances, lease, now)
          end
        end
        local current = redis.call('HMGET', lease, 'token', 'fence', 'owner')
        if current[1] then
          if current[1] == token then
            redis.call('HSET', lease, 'ttl', ttl)
            redis.call('PEXPIRE', lease, ttl)
            leave_queue()
            return {1, tonumber(current[2]), now, ttl, current[3] or '', 1, 0}
          end
          join_queue()
          local pttl = redis.call('PTTL', lease)
          return {0, now, pttl, tonumber(current[2]), current[3] or '', pttl, ''}
        end
        local head, dropped, head_alive = live_head(queue, instances, now)
        if head and head ~= member then
          join_queue()
          -- Dead waiters were dropped: the new head may not know it is next.
          if dropped then announce(name, head_alive, head) end
          return {0, now, 0, 0, '', head_alive, head}
        end
        if head then redis.call('ZREM', queue, member) end
        if redis.call('EXISTS', fence_key) == 0 then
          redis.call('SET', fence_key, num(now_us))
        end
        local fence = redis.call('INCR', fence_key)
        redis.call('PEXPIRE', fence_key, \(fenceRetentionMs))
        redis.call('HSET', lease, 'token', token, 'fence', num(fence), 'owner', owner, 'ttl', ttl)
        redis.call('PEXPIRE', lease, ttl)
        -- The next waiter learns when this lease ends: expiry announces
        -- nothing. Its own lockd is told in the reply when it is the
        -- caller's, so most hand-offs publish one message, not two.
        local recheck = 0
        local following = head and redis.call('ZRANGE', queue, 0, 0)[1]
        if following then
          if instance_of(following) == instance_of(member) then recheck = ttl else announce(name, ttl, nil) end
        end
        return {1, fence, now, ttl, owner, 0, recheck}
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

    /// KEYS lease waiters instances; ARGV token name. Returns 1 when released
    /// (and wakes the live head), 0 when the token does not hold the lock.
    static let release = prelude + """
        local now = clock()
        if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        local head, _, alive = live_head(KEYS[2], KEYS[3], now)
        if head then announce(ARGV[2], alive, head) end
        return 1
        """

    /// KEYS lease; returns `{now, pttl, fence, owner}` (pttl < 0: free).
    static let status = prelude + """
        local now = clock()
        local current = redis.call('HMGET', KEYS[1], 'fence', 'owner')
        if not current[1] then return {now, -2, 0, ''} end
        return {now, redis.call('PTTL', KEYS[1]), tonumber(current[1]), current[2] or ''}
        """

    /// KEYS waiters instances lease; ARGV member name. Leaves the queue; a
    /// head that leaves passes the watch on to the next one.
    static let removeWaiter = prelude + """
        local now = clock()
        local before = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 and before == ARGV[1] then
          announce_head(ARGV[2], KEYS[1], KEYS[2], KEYS[3], now)
        end
        return 1
        """

    /// KEYS instances; ARGV instance window_ms. Keeps the instance alive for
    /// `window_ms`; returns 1 when it still counted as alive, 0 when it did
    /// not (never beat, beat too late, or Redis lost its data), so that its
    /// waiters may have been dropped.
    static let beat = prelude + """
        local now = clock()
        local previous = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
        redis.call('ZADD', KEYS[1], num(now + tonumber(ARGV[2])), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. num(now - \(instanceRetentionMs)))
        redis.call('PEXPIRE', KEYS[1], \(instanceRetentionMs))
        if previous > now then return 1 end
        return 0
        """

    /// KEYS waiters instances lease; ARGV window_ms retention_ms
    /// name member…, one instance's waiters in arrival order. Puts back the
    /// members the queue lacks: from the first missing one on, all of them go
    /// to the tail in order (the ones before keep their places). Returns
    /// `{restored, recheck_ms, head}`: head is set when the lock is free.
    static let reconcile = prelude + """
        local now = clock()
        local queue, instances, lease = KEYS[1], KEYS[2], KEYS[3]
        local window, retention, name = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
        local me = instance_of(ARGV[4])
        redis.call('ZADD', instances, num(now + window), me)
        local restored = 0
        for i = 4, #ARGV do
          if restored > 0 or not redis.call('ZSCORE', queue, ARGV[i]) then
            append(queue, ARGV[i])
            restored = restored + 1
          end
        end
        if restored > 0 then retain(queue, retention) end
        local pttl = redis.call('PTTL', lease)
        if pttl > 0 then return {restored, pttl, ''} end
        local head, _, alive = live_head(queue, instances, now)
        if not head then return {restored, -1, ''} end
        -- Another instance's head may not know the lock is free.
        if instance_of(head) ~= me then announce(name, alive, head) end
        return {restored, alive, head}
        """
}
