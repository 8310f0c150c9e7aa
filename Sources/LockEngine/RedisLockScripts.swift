/// The Lua scripts behind ``RedisLockStore``: each lock operation is one
/// atomic script call, timed by Redis's clock.
///
/// Keys of one lock share the hash tag `{name}` so they stay in one Redis
/// Cluster slot:
/// - `lockd:{name}:lease` — a plain lock's one lease (exclusive, limit 1):
///   hash `token fence owner ttl client` (client: the authenticated client id, empty with auth off), expiring by `PX`;
/// - `lockd:{name}:holders` and `lockd:{name}:grants` — the leases of any
///   other name (a semaphore's, readers', or one with a lock delay): a
///   sorted set of tokens by when their slot frees (ms: the expiry, plus the
///   lease's lock delay) and a hash `token → "fence:ttl:client|owner"` (and
///   `d:token → delay_ms` for a lease with a lock delay: it is live until
///   its score minus the delay, and keeps its slot, not live, until its
///   score) with the name's `mode` (`x` or `s`) and `limit`; both expire
///   with the last slot;
/// - `lockd:{name}:fence` — the fence counter, one for every mode;
/// - `lockd:{name}:waiters` — the one FIFO queue (sorted set, score = arrival
///   number, one more than the last one's; member = `INSTANCE:WAITER`, the
///   lockd instance's id first; the waiter id's tail says what it waits
///   for, see ``WaiterID``);
/// - `lockd:{name}:wishes` — hash `member → "ttl|token|client|owner"` (`ttl:delay|…`
///   with a lock delay): what a
///   queued waiter asked for, so that a release, or a waiter leaving, grants
///   the waiters that fit now at once (``hand_over``). A lease granted so is
///   marked with its waiter until the waiter collects it (`member` in the
///   lease hash; `w:token → @member` and `m:member → token` in the grants
///   hash) so that a waiter that leaves instead gives it back.
///
/// A lease a retried acquire answered is marked claimed (`claimed` in the
/// lease hash, `c:token` among the grants), and one granted to an attempt
/// under a client's own token carries that attempt's nonce (`nonce`,
/// `n:token`): a give-back names the grant by its fence or, its reply lost,
/// by that nonce (``release``), and so never ends a lease the client holds
/// from another answer.
///
/// A name is never in both layouts: a plain lock's lease admits no one
/// beside it. A request is granted when it fits beside the holders and
/// every live waiter ahead of it fits too; a release, a leaving waiter or a
/// grant at the head wakes exactly the waiters that fit now.
///
/// Lock delay (`lock_delay_ms`): a lease with one always takes the holders'
/// layout, where its slot counts against the name's capacity until its
/// score — through the delay once it expired, while it is no longer live
/// (renew, release and fence check miss it; the holder lists leave it out).
/// Nothing announces a delay's end, as nothing announces an expiry: the
/// queue heads' rechecks are timed to the first slot's end (``until_first_expiry``),
/// which counts the delay. A release drops the slot at once; a
/// force-release keeps it for the delay from then.
///
/// Liveness is per lockd instance, not per waiter: an instances key (sorted
/// set, member = instance id, score = the time in ms until which it counts as
/// alive) is beaten by each instance a few times a second, so the cost of
/// keeping waiters alive does not grow with their number. Its name comes from
/// ``RedisLivenessKeys``: one key on a single server, one per Cluster slot in
/// the name's slot, so every script declares all the keys it touches.
///
/// Changes to a queue are announced on ``wakeupChannel`` (in a Redis Cluster
/// on the name's shard channel, see ``sharded(_:)``) as
/// `name\nrecheck_ms\nentry…`: each entry a member granted a lease
/// (`member fence now`, now in Redis ms) or one to wake now to take the name
/// itself (`member`), of any instance; and when every instance's first
/// waiter on the name should look again if nothing else wakes it (empty: no
/// change).
///
/// Numbers are passed to `redis.call` as strings, never as Lua numbers:
/// formatted by `num` (`string.format('%d')`; older Redis would write a
/// 16-digit fence as `1.8e+15`), constants as string literals (`'0'`).
/// Redis formats a number argument with `%.17g`, ~0.2 µs each, which on a
/// contended semaphore's cycle came to ~5% of its script time.
enum RedisLockScripts {
    /// The channel on which queue changes are announced; in a Redis Cluster
    /// its per-name shard channels ``shardChannel(_:)``.
    static let wakeupChannel = "lockd:waiting"
    /// The prelude's first line, which the Cluster's variant of a script
    /// (``sharded(_:)``) turns true.
    static let shardedMarker = "local sharded = false"

    /// `script` for a Redis Cluster: wake-ups go by `SPUBLISH` on the name's
    /// shard channel, and whether an instance listens is asked with `PUBSUB
    /// SHARDNUMSUB` on its channel for the name — both in the name's slot,
    /// so only the node serving the name carries them (a classic `PUBLISH`
    /// is broadcast to every node of the cluster).
    static func sharded(_ script: String) -> String {
        script.replacing(shardedMarker, with: "local sharded = true")
    }

    /// The shard channel on which changes to `name`'s queue are announced in
    /// a Redis Cluster, in the slot of the name's keys (same hash tag).
    static func shardChannel(_ name: LockName) -> String { "\(wakeupChannel):{\(name.value)}" }

    /// The shard channel by whose subscribers the scripts tell that
    /// `instance` listens for wake-ups on `name` (it carries nothing).
    static func shardChannel(_ name: LockName, instance: String) -> String { "\(shardChannel(name)):\(instance)" }
    /// How recent an instance's last beat must be for its waiters to be
    /// granted without asking: two and a half beats at the engine's default
    /// 100 ms, so one late beat does not count, a frozen lockd soon does.
    static let freshBeatMs: Int64 = 250

    /// How long an idle fence counter is kept. Losing it is safe: every
    /// fence is at least Redis `TIME` in microseconds as well as the counter
    /// plus one, so a counter that is missing — or stale, on a replica
    /// promoted before it had the latest one — still yields a fence above
    /// every fence issued before, as long as the servers' clocks do not step
    /// back (see deploy/README.md) and no name takes a million leases a second.
    static let fenceRetentionMs = 7 * 24 * 3_600_000

    /// How long an instance that stopped beating stays in the instances key.
    static let instanceRetentionMs = 600_000

    /// Length of an instance id: a member's first 16 characters.
    static let instanceIDLength = 16

    /// KEYS lease fence waiters instances holders grants wishes; ARGV token
    /// ttl name with_holders owner client mode limit member retention_ms
    /// asks_wish delay_ms nonce, each after `name` sent only up to the last
    /// one a request sets (absent: empty, for mode `x` and for limit 1; each
    /// argument costs Redis ~50 ns, and most requests set none past owner or
    /// client). with_holders empty: a refusal may leave out the holders,
    /// unless the token holds the other mode; member empty: no waiting (then
    /// retention_ms, how long the queue's keys are kept, is not read); mode
    /// `x` or `s`; asks_wish `1`: a waiter that may be granted by a release
    /// without asking again, see ``hand_over``. (The liveness window is
    /// ``RedisLockStore/livenessWindowMs``, in the library's text.) Returns `{1, fence, now, ttl, owner, is_retry,
    /// recheck_ms, limit, mode}` when granted (recheck_ms > 0: the queue's
    /// next waiter is the caller's instance's, and should look again then;
    /// is_retry 0 also for a grant handed to this waiter already); `{2,
    /// limit}` when the name is in use with another limit; else `{0, now,
    /// recheck_ms, refused, {member…}, {fence, remaining_ms, mode, owner,
    /// …}, retry_ms, delayed_until}`: the waiters that may take the name
    /// now, its holders (refused 1: the token holds the name in the other
    /// mode), how long until an expiry could admit the request (lock delays
    /// counted), and when the first lock delay in force ends (0: none).
    /// delay_ms (empty: 0): an expired lease's slot stays taken this long.
    /// nonce (absent: none): names this attempt, stored with what it is
    /// granted (a new lease, or one a release handed its waiter) for a
    /// give-back whose reply never came (``release``). A retry sets its
    /// lease's TTL anew, and one that brings its end forward announces as a
    /// renewal down does (``renew``).
    static let acquire = Script("acquire", """
        local now, now_us = clock()
        local k = KEYS
        local token, ttl, name, with_holders = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
        local owner, client, wish, limit = ARGV[5] or '', ARGV[6] or '', ARGV[7] or 'x', tonumber(ARGV[8]) or 1
        local member, delay, nonce = ARGV[9] or '', tonumber(ARGV[12]) or 0, ARGV[13]
        -- The holders (with the token's own grant, if it holds one). A name
        -- is never in both layouts: a request for the holders' layout looks
        -- there first, and at the plain lease only when none holds it so
        -- (a busy semaphore's acquire reads no lease); a plain one looks at
        -- its lease first, as it always did.
        local mode, held_limit, count, first_end, record, record_delay
        local current = {}
        local multi = not is_plain(wish, limit, delay)
        -- A plain lock on a name with no lease, no holders and no queue is
        -- granted at once, as the steps below would grant it, with one
        -- `EXISTS` for the lease's `HMGET`, the holders' `ZCARD` and the
        -- queue's `ZRANGE` (the usual lock). A request that may wait, whose
        -- name is more often held, reads the lease first (as below), and
        -- asks only whether holders or a queue exist when it has none.
        local free = false
        if multi then
          mode, held_limit, count, first_end, record, record_delay = multi_holding(k[HOLDERS], k[GRANTS], now, token)
        elseif member == '' then
          free = redis.call('EXISTS', k[LEASE], k[HOLDERS], k[QUEUE]) == 0
        end
        if not free and (not multi or count == 0) then
          current = redis.call('HMGET', k[LEASE], 'token', 'fence', 'owner')
          if current[1] then
            mode, held_limit, count = 'x', 1, 1
          elseif not multi then
            if member ~= '' then free = redis.call('EXISTS', k[HOLDERS], k[QUEUE]) == 0 end
            if not free then
              mode, held_limit, count, first_end, record, record_delay = multi_holding(k[HOLDERS], k[GRANTS], now, token)
            end
          end
        end
        if free then
          local fence = grant(k, now, now_us, wish, limit, token, ttl, owner, client, nil, delay, nonce, false, ARGV[2])
          return {1, fence, now, ttl, owner, 0, 0, limit, wish}
        end
        if count > 0 and held_limit ~= limit then return {2, held_limit} end
        -- A retry: the token holds the name already.
        if current[1] == token then
          if wish ~= 'x' then return held_reply(k, now, wish, with_holders, 1, 0, {}) end
          local retry = retried(k, token, member, nonce)
          -- Its TTL set anew, as a renewal's: one brought forward announces
          -- when the queue's heads look again (they were told the old end).
          local sooner = redis.call('EXISTS', k[QUEUE]) == 1 and redis.call('PTTL', k[LEASE]) > ttl
          redis.call('HSET', k[LEASE], 'ttl', num(ttl))
          redis.call('PEXPIRE', k[LEASE], num(ttl))
          if member ~= '' then leave(k, member, name, now, now_us) end
          if sooner then announce(name, ttl, {}) end
          return {1, tonumber(current[2]), now, ttl, current[3] or '', retry, 0, 1, 'x'}
        end
        local mine, mine_delay, lapsed = false, 0, false
        if count > 0 and not current[1] then
          mine, mine_delay = record, tonumber(record_delay) or 0
          -- Expired, its slot held through its lock delay: not a lease to
          -- retry, nor one to grant again under the same token until then.
          if mine and mine_delay > 0 and (tonumber(redis.call('ZSCORE', k[HOLDERS], token)) or 0) - mine_delay <= now then
            mine, lapsed = false, true
          end
        end
        if mine then
          if wish ~= mode then return held_reply(k, now, wish, with_holders, 1, 0, {}) end
          local retry = retried(k, token, member, nonce)
          local fence, _, own = string.match(mine, '^(%d+):(%d+):(.*)$')
          local ends = now + ttl + mine_delay
          -- (As a renewal's: a slot that frees sooner, first of the live ones, announces.)
          local sooner = ends < (tonumber(redis.call('ZSCORE', k[HOLDERS], token)) or 0) and redis.call('EXISTS', k[QUEUE]) == 1
          redis.call('HSET', k[GRANTS], token, fence .. ':' .. num(ttl) .. ':' .. own)
          redis.call('ZADD', k[HOLDERS], num(ends), token)
          keep_holders(k[HOLDERS], k[GRANTS], now)
          if member ~= '' then leave(k, member, name, now, now_us) end
          if sooner and redis.call('ZRANGEBYSCORE', k[HOLDERS], '(' .. num(now), '+inf', 'LIMIT', '0', '1')[1] == token then
            announce(name, ttl + mine_delay, {})
          end
          return {1, tonumber(fence), now, ttl, (owner_client(own)), retry, 0, held_limit, mode}
        end
        -- Who may take it: a full name admits no one.
        local run, whole, after_mode, after_count, first_alive, dropped = {}, false, mode, count, 0, false
        local name_limit = held_limit
        if not (mode == 'x' and count >= held_limit) then
          run, whole, after_mode, after_count, name_limit, first_alive, dropped =
            admissible(k, now, mode, held_limit, count, member ~= '' and member or nil)
        end
        if name_limit and name_limit ~= limit then return {2, name_limit} end
        local queued = member ~= '' and run[#run] == member
        if lapsed or (not queued and not (whole and fits(after_mode, limit, after_count, wish))) then
          if member ~= '' then
            local wants
            if ARGV[11] == '1' then
              wants = num(ttl)
              if delay > 0 then wants = wants .. ':' .. num(delay) end
              wants = wants .. '|' .. token .. '|' .. client .. '|' .. owner
            end
            join_queue(k, member, now, \(RedisLockStore.livenessWindowMs), tonumber(ARGV[10]), wants)
          end
          -- The waiters that fit now may not know it: dead ones ahead of them
          -- were dropped, or an expiry freed the name (it announces nothing),
          -- or an entry's lockd no longer waits on it (a failover brought it
          -- back) and must hear of it to drop it. The caller's own lockd
          -- learns from the reply.
          if #run > 0 and (dropped or others_ahead(run, member)) then announce(name, first_alive, run) end
          -- When the first lease ends (lock delays counted): read above, as
          -- nothing but a grant changes the holders.
          local first
          if current[1] then
            first = until_first_expiry(k[LEASE], k[HOLDERS], now)
          elseif first_end and first_end > now then
            first = first_end - now
          end
          return held_reply(k, now, wish, with_holders, 0, first or first_alive, run)
        end
        if queued then unqueue(k, member) end
        local fence = grant(k, now, now_us, wish, limit, token, ttl, owner, client, nil, delay, nonce, false, ARGV[2])
        local plain = is_plain(wish, limit, delay)
        -- The head was granted: the name goes on to the waiters behind it
        -- that fit too, else the next learns when the first lease ends (an
        -- expiry announces nothing). Its own lockd is told in the reply when
        -- it is the caller's, so most hand-offs publish one message, not two.
        local recheck = 0
        if queued and #run == 1 then
          local next_run, next_whole, next_alive, alive = {}, false, 0, nil
          if not (wish == 'x' and count + 1 >= limit) then
            local _
            next_run, next_whole, _, _, _, next_alive, _, alive = admissible(k, now, wish, limit, count + 1, nil)
          end
          if #next_run > 0 then
            hand_over(k, name, now, now_us, next_run, next_alive, alive, next_whole)
          else
            local following = redis.call('ZRANGE', k[QUEUE], '0', '0')[1]
            if following then
              local first = plain and ttl or until_first_expiry(k[LEASE], k[HOLDERS], now) or ttl
              if instance_of(following) == instance_of(member) then recheck = first else announce(name, first, {}) end
            end
          end
        end
        return {1, fence, now, ttl, owner, 0, recheck, limit, wish}
        """)

    /// KEYS lease holders grants waiters; ARGV token ttl (empty: keep) name.
    /// Returns `{1, fence, now, ttl, owner, limit, mode}` or `{0}` when the
    /// token does not hold the lock (an expired lease in its lock delay does
    /// not). A lease renewed down so that the name's first slot frees sooner
    /// announces when the queue's heads look again: they were told the old
    /// end, and an expiry announces nothing.
    static let renew = Script("renew", """
        local now = clock()
        local current = redis.call('HMGET', KEYS[1], 'token', 'fence', 'owner', 'ttl')
        if current[1] then
          if current[1] ~= ARGV[1] then return {0} end
          local ttl = tonumber(ARGV[2]) or tonumber(current[4])
          -- (Only a shorter TTL than the lease's can bring its expiry forward.)
          local sooner = ttl < tonumber(current[4]) and redis.call('EXISTS', KEYS[4]) == 1 and redis.call('PTTL', KEYS[1]) > ttl
          redis.call('HSET', KEYS[1], 'ttl', num(ttl))
          redis.call('PEXPIRE', KEYS[1], num(ttl))
          if sooner then announce(ARGV[3], ttl, {}) end
          return {1, tonumber(current[2]), now, ttl, current[3] or '', 1, 'x'}
        end
        local ends = redis.call('ZSCORE', KEYS[2], ARGV[1])
        local record = ends and tonumber(ends) > now and redis.call('HMGET', KEYS[3], ARGV[1], 'd:' .. ARGV[1])
        local held = record and record[1]
        if not held then return {0} end
        local delay = tonumber(record[2]) or 0
        if tonumber(ends) - delay <= now then return {0} end
        local fence, old_ttl, owner = string.match(held, '^(%d+):(%d+):(.*)$')
        local ttl = tonumber(ARGV[2]) or tonumber(old_ttl)
        redis.call('HSET', KEYS[3], ARGV[1], fence .. ':' .. num(ttl) .. ':' .. owner)
        redis.call('ZADD', KEYS[2], num(now + ttl + delay), ARGV[1])
        keep_holders(KEYS[2], KEYS[3], now)
        -- Its slot frees sooner, and first of all the live ones: the queue's heads look again then.
        if now + ttl + delay < tonumber(ends) and redis.call('EXISTS', KEYS[4]) == 1 then
          local first = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. num(now), '+inf', 'WITHSCORES', 'LIMIT', '0', '1')
          if first[1] == ARGV[1] then announce(ARGV[3], ttl + delay, {}) end
        end
        local meta = redis.call('HMGET', KEYS[3], 'mode', 'limit')
        return {1, tonumber(fence), now, ttl, (owner_client(owner)), tonumber(meta[2]) or 1, meta[1] or 'x'}
        """)

    /// KEYS as ``acquire``'s; ARGV token name caller unclaimed fence nonce
    /// (sent up to the last one set; absent: empty). Returns
    /// 1 when released (and hands the name to the waiters that fit now), 0
    /// when the token does not hold the lock — or, with unclaimed `1`, when a
    /// retried acquire has answered a client with the lease since its grant;
    /// or, with a fence (a give-back's: empty or absent, none), when the
    /// lease the token holds has another fence (it is a later grant); or,
    /// with a nonce (absent: none), when no acquire with that nonce was
    /// granted the lease (see ``acquire``).
    /// With caller (an instance id; empty or absent: none), `{1, message}`
    /// when the name went to that instance's waiters alone: the
    /// announcement (as on ``wakeupChannel``), not published, for the caller
    /// to deliver (see ``hand_over``).
    static let release = Script("release", """
        local caller, fence, nonce = ARGV[3], ARGV[5], ARGV[6]
        if caller == '' then caller = nil end
        if fence == '' then fence = nil end
        -- (The clock is read by ``end_lease`` when needed: a plain lease
        -- released with nobody waiting needs none.)
        local ended, message = end_lease(KEYS, ARGV[1], ARGV[2], nil, nil, false, ARGV[4] == '1', caller, fence, nonce)
        if message then return {ended, message} end
        return ended
        """)

    /// KEYS as ``acquire``'s; ARGV fence name. Ends the
    /// live lease with that fence as a release would, except that a lease
    /// with a lock delay keeps its slot for the delay from now (its holder,
    /// forced out, may still have writes in flight); returns its token, or
    /// false when no live lease has that fence.
    static let forceRelease = Script("forceRelease", """
        local now, now_us = clock()
        local k = KEYS
        local plain = redis.call('HMGET', k[LEASE], 'fence', 'token')
        local token = plain[1] == ARGV[1] and plain[2] or nil
        if not token then
          -- Grants are `fence:ttl:client|owner` under each token (beside the
          -- name's `mode` and `limit` fields and `w:token → @member`, which
          -- never start `digits:`).
          local grants = redis.call('HGETALL', k[GRANTS])
          for i = 1, #grants, 2 do
            if string.match(grants[i + 1], '^(%d+):') == ARGV[1] then token = grants[i] break end
          end
        end
        if not token or end_lease(k, token, ARGV[2], now, now_us, true) == 0 then return false end
        return token
        """)

    /// KEYS lease holders grants waiters; returns `{now, limit, waiting,
    /// {fence, remaining_ms, mode, owner, …}, delayed_until}` (delayed_until:
    /// when the first lock delay in force ends, 0 when none).
    static let status = Script("status", writes: false, """
        local now = clock()
        local list, _, limit, _, _, delayed_until = holder_list(KEYS[1], KEYS[2], KEYS[3], now)
        if not limit then
          local head = redis.call('ZRANGE', KEYS[4], '0', '0')[1]
          limit = 1
          if head then limit = select(2, wish_of(head)) end
        end
        return {now, limit, redis.call('ZCARD', KEYS[4]), list, delayed_until}
        """)

    /// KEYS as ``acquire``'s; ARGV member name reclaim. Leaves the queue;
    /// the waiters it held back get the name. With reclaim `1`, a lease
    /// already handed to this waiter and not collected (its lockd will not
    /// deliver it) ends, as a release would.
    static let removeWaiter = Script("removeWaiter", """
        local now, now_us = clock()
        local k = KEYS
        local member, name = ARGV[1], ARGV[2]
        if redis.call('ZSCORE', k[QUEUE], member) then
          leave(k, member, name, now, now_us)
        elseif ARGV[3] == '1' then
          local token = granted_token(k, member)
          if token then end_lease(k, token, name, now, now_us) end
        end
        return 1
        """)

    /// KEYS instances; ARGV instance window_ms. Keeps the instance alive for
    /// `window_ms`; returns 1 when it still counted as alive, 0 when it did
    /// not (never beat, beat too late, or Redis lost its data), so that its
    /// waiters may have been dropped.
    static let beat = Script("beat", """
        local now = clock()
        local previous = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
        redis.call('ZADD', KEYS[1], num(now + tonumber(ARGV[2])), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. num(now - \(instanceRetentionMs)))
        redis.call('PEXPIRE', KEYS[1], '\(instanceRetentionMs)')
        if previous > now then return 1 end
        return 0
        """)

    /// KEYS as ``acquire``'s; ARGV window_ms retention_ms name member…, one
    /// instance's waiters in arrival order.
    /// Puts back the members the queue lacks: from the first missing one on,
    /// all of them go to the tail in order (the ones before keep their
    /// places), except those granted already by ``hand_over`` (their wake-up
    /// was lost). Returns `{restored, recheck_ms, {member…}}`: the waiters
    /// that may take the name now, or collect their grant.
    static let reconcile = Script("reconcile", """
        local now = clock()
        local k = KEYS
        local window, retention, name = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
        local me = instance_of(ARGV[4])
        redis.call('ZADD', k[INSTANCES], num(now + window), me)
        local restored, collect = 0, {}
        for i = 4, #ARGV do
          if granted_token(k, ARGV[i]) then
            -- Granted already (its wake-up lost): it collects its lease.
            collect[#collect + 1] = ARGV[i]
          elseif restored > 0 or not redis.call('ZSCORE', k[QUEUE], ARGV[i]) then
            append(k[QUEUE], ARGV[i])
            restored = restored + 1
          end
        end
        if restored > 0 then retain(k[QUEUE], retention) end
        local mode, limit, count = holding(k[LEASE], k[HOLDERS], k[GRANTS], now)
        local run, _, _, _, _, first_alive = admissible(k, now, mode, limit, count, nil)
        if #run == 0 then return {restored, until_first_expiry(k[LEASE], k[HOLDERS], now) or -1, collect} end
        -- Another instance's waiters may not know they can take it.
        for i = 1, #run do
          if instance_of(run[i]) ~= me then
            announce(name, first_alive, run)
            break
          end
        end
        for i = 1, #run do collect[#collect + 1] = run[i] end
        return {restored, first_alive, collect}
        """)
}
