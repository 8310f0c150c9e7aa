extension RedisLockScripts {
    /// Lua helpers the scripts start with: the clock, the queue, the
    /// holders in either layout, and who may take a name. Each script
    /// carries only the functions it calls (``prelude``).
    static let preludeText = """
        \(shardedMarker)
        -- The keys of one name, where every queue-changing script declares
        -- them: `k[LEASE]` of its `KEYS` (`k`). Indexed, not copied into a
        -- table by name: that table cost ~0.4 µs a call.
        local LEASE, FENCE, QUEUE, INSTANCES, HOLDERS, GRANTS, WISHES = 1, 2, 3, 4, 5, 6, 7
        -- (`%d` formats a 64-bit integer, at less than half the cost of `%.0f`.)
        -- Integers only (TTLs, delays, scores, fences, times in ms or µs, all below 2^53): %d truncates a fraction and wraps past 2^63.
        local function num(x) return string.format('%d', x) end
        -- (Each text made a number once: Lua's `tonumber` is a `strtod`.)
        local function clock()
          local t = redis.call('TIME')
          local s, us = tonumber(t[1]), tonumber(t[2])
          return s * 1000 + math.floor(us / 1000), s * 1000000 + us
        end
        -- A grant is `fence:ttl:client|owner` (client ids hold no '|'; an
        -- older grant has no client). Returns the owner, then the client.
        local function owner_client(tail)
          local client, owner = string.match(tail, '^([^|]*)|(.*)$')
          if client then return owner, client end
          return tail, ''
        end
        local function instance_of(member) return string.sub(member, 1, \(instanceIDLength)) end
        -- Whether `member` is a waiter of `instance` (an id of
        -- \(instanceIDLength) characters): as `instance_of(member) == instance`,
        -- without making the member's id a string (Redis's Lua hashes every
        -- byte of each string it makes; a release reads a queue's members
        -- to see whose they are).
        local function is_of(member, instance) return string.find(member, instance, 1, true) == 1 end
        -- What a queue entry waits for, from its waiter id's tail: 'x'
        -- (exclusive) or 's' (shared), and the name's limit.
        local function wish_of(member)
          local tail = string.match(member, '^[^:]+:[^:]+:(.+)$')
          if tail == 's' then return 's', 1 end
          return 'x', tonumber(tail) or 1
        end
        -- Appends a member to the queue's tail (or moves it there).
        local function append(queue, member)
          local last = redis.call('ZRANGE', queue, '-1', '-1', 'WITHSCORES')[2]
          redis.call('ZADD', queue, num((tonumber(last) or 0) + 1), member)
        end
        -- Takes `member` out of the queue, with its wish.
        local function unqueue(k, member)
          redis.call('ZREM', k[QUEUE], member)
          redis.call('HDEL', k[WISHES], member)
        end
        -- Keeps a key at least `ms` longer: when it must be kept longer,
        -- for twice that, so that a busy queue seldom touches its expiry.
        local function retain(key, ms)
          local ttl = redis.call('PTTL', key)
          if ttl ~= -2 and ttl < ms then redis.call('PEXPIRE', key, num(2 * ms)) end
        end
        -- The announcement ``announce`` publishes (see ``RedisLockScripts``).
        local function wake_message(name, recheck, members)
          local message = name .. '\\n' .. num(recheck)
          if #members > 0 then message = message .. '\\n' .. table.concat(members, '\\n') end
          return message
        end
        -- Wakes `members` (of any instance) and has every instance's first
        -- waiter on the name look again after `recheck` ms.
        -- In a Redis Cluster (`sharded`) on the name's shard channel, which
        -- lies in the name's slot and reaches only the lockd instances that
        -- wait on the name; elsewhere on the one classic channel.
        local function announce(name, recheck, members)
          local message = wake_message(name, recheck, members)
          if sharded then
            redis.call('SPUBLISH', '\(wakeupChannel):{' .. name .. '}', message)
          else
            redis.call('PUBLISH', '\(wakeupChannel)', message)
          end
        end
        -- Whether a lease wished as `wish` fits beside `count` holders in
        -- `mode` on a name of `limit`.
        local function fits(mode, limit, count, wish)
          if count == 0 then return true end
          if wish == 's' then return mode == 's' end
          return mode == 'x' and count < limit
        end
        -- Drops the grant of `token` from the grants hash, with its marks
        -- (`marked`: its `w:` mark, when the caller read it already).
        local function drop_grant(grants, token, marked)
          local member = marked
          if marked == nil then member = redis.call('HGET', grants, 'w:' .. token) end
          if member then
            redis.call('HDEL', grants, token, 'w:' .. token, 'm:' .. string.sub(member, 2), 'd:' .. token, 'c:' .. token, 'n:' .. token)
          else
            redis.call('HDEL', grants, token, 'd:' .. token, 'c:' .. token, 'n:' .. token)
          end
        end
        -- How many leases hold a name in the holders' layout, and when the
        -- first slot frees (nil when none), after dropping expired ones. A
        -- holder's score is when its slot frees: its expiry plus its lock
        -- delay (`d:token` in the grants hash), so a lease that expired
        -- keeps its slot through the delay.
        local function live_holders(holders, grants, now)
          -- The count first: a plain lock's name has none, and an integer
          -- is the cheapest answer.
          local count = redis.call('ZCARD', holders)
          if count == 0 then return 0, nil end
          local first = redis.call('ZRANGE', holders, '0', '0', 'WITHSCORES')
          if tonumber(first[2]) <= now then
            local expired = redis.call('ZRANGEBYSCORE', holders, '-inf', num(now))
            redis.call('ZREMRANGEBYSCORE', holders, '-inf', num(now))
            for i = 1, #expired do drop_grant(grants, expired[i]) end
            first = redis.call('ZRANGE', holders, '0', '0', 'WITHSCORES')
            if #first == 0 then
              redis.call('DEL', grants)
              return 0, nil
            end
            count = redis.call('ZCARD', holders)
          end
          return count, tonumber(first[2])
        end
        -- The holders of a name that is not a plain lock: their mode ('x' or
        -- 's'; nil when free), the name's limit, their count and when the
        -- first slot frees (see ``live_holders``); then, given `token`, its
        -- grant and lock delay, read in the same call.
        local function multi_holding(holders, grants, now, token)
          local count, first = live_holders(holders, grants, now)
          if count == 0 then return nil, nil, 0 end
          local meta
          if token then
            meta = redis.call('HMGET', grants, 'mode', 'limit', token, 'd:' .. token)
          else
            meta = redis.call('HMGET', grants, 'mode', 'limit')
          end
          -- (Defaults only if an eviction took the grants hash alone.)
          return meta[1] or 'x', tonumber(meta[2]) or 1, count, first, meta[3], meta[4]
        end
        local function holding(lease, holders, grants, now)
          if redis.call('EXISTS', lease) == 1 then return 'x', 1, 1 end
          return multi_holding(holders, grants, now)
        end
        -- Keeps the holders' keys until the last of their leases expires.
        -- (They never expire sooner: every script that adds a slot keeps
        -- them, here or in ``cover_holders``.)
        local function keep_holders(holders, grants, now)
          local last = redis.call('ZRANGE', holders, '-1', '-1', 'WITHSCORES')[2]
          if not last then return end
          local ms = num(math.max(1, tonumber(last) - now))
          redis.call('PEXPIRE', holders, ms)
          redis.call('PEXPIRE', grants, ms)
        end
        -- Keeps the holders' keys at least until `ends` (ms) after a grant;
        -- when they must be kept longer, for twice as long as needed, so
        -- that a busy name's grants seldom touch their expiry. A holders
        -- key without an expiry is one this grant made: the grants hash,
        -- which may be older, is kept alike.
        local function cover_holders(holders, grants, now, ends)
          local ttl = redis.call('PTTL', holders)
          if ttl >= ends - now then return end
          local ms = num(math.max(1, 2 * (ends - now)))
          redis.call('PEXPIRE', holders, ms)
          redis.call('PEXPIRE', grants, ms)
        end
        -- Milliseconds until the first lease on the name expires (and its
        -- delay ends); nil when free.
        local function until_first_expiry(lease, holders, now)
          local pttl = redis.call('PTTL', lease)
          if pttl > 0 then return pttl end
          local first = redis.call('ZRANGE', holders, '0', '0', 'WITHSCORES')[2]
          if first and tonumber(first) > now then return tonumber(first) - now end
          return nil
        end
        -- The live holders, flat: `fence, remaining_ms, mode, owner, client, …`;
        -- then their mode and the name's limit (nil when free); when the
        -- first slot frees and when the last does (ms from now, counting
        -- lock delays; 0 when free); and when the first lock delay in force
        -- (a lease that expired, its slot still taken) ends, or 0. Reads only.
        local function holder_list(lease, holders, grants, now)
          local current = redis.call('HMGET', lease, 'fence', 'owner', 'client')
          if current[1] then
            local pttl = redis.call('PTTL', lease)
            return {tonumber(current[1]), pttl, 'x', current[2] or '', current[3] or ''}, 'x', 1, pttl, pttl, 0
          end
          local list = {}
          local slots = redis.call('ZRANGEBYSCORE', holders, '(' .. num(now), '+inf', 'WITHSCORES')
          if #slots == 0 then return list, nil, nil, 0, 0, 0 end
          local meta = redis.call('HMGET', grants, 'mode', 'limit')
          meta[1] = meta[1] or 'x'
          local tokens, n = {}, #slots / 2
          for i = 1, #slots, 2 do tokens[#tokens + 1] = slots[i] end
          for i = 1, n do tokens[n + i] = 'd:' .. tokens[i] end
          local records = redis.call('HMGET', grants, unpack(tokens))
          local delayed_until = 0
          for i = 1, n do
            local held, ends = records[i], tonumber(slots[2 * i])
            local expiry = ends - (tonumber(records[n + i]) or 0)
            if expiry <= now then
              if delayed_until == 0 or ends < delayed_until then delayed_until = ends end
            elseif held then
              local fence, _, tail = string.match(held, '^(%d+):(%d+):(.*)$')
              local owner, client = owner_client(tail)
              list[#list + 1] = tonumber(fence)
              list[#list + 1] = expiry - now
              list[#list + 1] = meta[1]
              list[#list + 1] = owner
              list[#list + 1] = client
            end
          end
          return list, meta[1], tonumber(meta[2]) or 1, tonumber(slots[2]) - now, tonumber(slots[#slots]) - now, delayed_until
        end
        -- The live waiters at the queue's head that fit beside the holders
        -- and each other, in order (at most 1000, and none after `stop`),
        -- dropping waiters whose lockd stopped beating. Returns them; whether
        -- they are the whole queue; the mode and count a request behind them
        -- would find; the name's limit (the first waiter's when nothing holds
        -- it); how long the first one's lockd counts as alive; whether any
        -- waiter was dropped; until when each instance it looked at
        -- counts as alive (ms, by instance id); and, when its last read
        -- reached the queue's end, that read and where the members after
        -- the run start in it (else nil).
        -- `look`: how many members to read first; by default the head and
        -- the one after it (most names admit one waiter at a time, and the
        -- next one's lockd is to hear when to look again, see ``hand_over``).
        -- `first` (or nil): the queue's first `look` members, read already.
        -- `caller` (or nil): the instance whose call this is. Its waiters
        -- count as alive without reading its score (it is calling, so it is
        -- alive, even if its beats lapsed), and how long it counts as alive
        -- is left out of `alive` (nil) and `first_alive` (false when the
        -- first is its waiter: see ``hand_over``).
        local function admissible(k, now, mode, limit, count, stop, look, first, caller)
          local run, alive, kept, first_alive, dropped = {}, {}, 0, 0, false
          while true do
            local size = kept == 0 and (look or 2) or 32
            local batch = first
            if kept > 0 or not batch then batch = redis.call('ZRANGE', k[QUEUE], num(kept), num(kept + size - 1)) end
            first = nil
            if #batch == 0 then return run, true, mode, count, limit, first_alive, dropped, alive end
            for i = 1, #batch do
              local member = batch[i]
              local instance = caller
              if not (caller and is_of(member, caller)) then instance = instance_of(member) end
              if alive[instance] == nil and instance ~= caller then
                alive[instance] = tonumber(redis.call('ZSCORE', k[INSTANCES], instance) or '0')
              end
              if instance ~= caller and alive[instance] <= now then
                unqueue(k, member)
                dropped = true
              else
                local wish, wish_limit = wish_of(member)
                limit = limit or wish_limit
                if #run >= 1000 or not fits(mode, limit, count, wish) then
                  return run, false, mode, count, limit, first_alive, dropped, alive, #batch < size and batch or nil, i
                end
                if #run == 0 then first_alive = instance ~= caller and alive[instance] - now end
                run[#run + 1] = member
                mode, count, kept = wish, count + 1, kept + 1
                if member == stop or (mode == 'x' and count >= limit) then
                  return run, false, mode, count, limit, first_alive, dropped, alive, #batch < size and batch or nil, i + 1
                end
              end
            end
          end
        end
        -- The token of the lease ``hand_over`` granted the waiter `member`,
        -- while that grant is not known to be delivered; nil when none.
        local function granted_token(k, member)
          if member == '' then return nil end
          local plain = redis.call('HMGET', k[LEASE], 'token', 'member')
          if plain[1] then
            if plain[2] == member then return plain[1] end
            return nil
          end
          return redis.call('HGET', k[GRANTS], 'm:' .. member) or nil
        end
        -- Forgets which waiter a grant was handed to: it has it now, as
        -- the grant of its attempt `nonce` (or nil: see ``grant``).
        local function unmark(k, token, member, nonce)
          if redis.call('EXISTS', k[LEASE]) == 1 then
            redis.call('HSET', k[LEASE], 'member', '')
            if nonce then redis.call('HSET', k[LEASE], 'nonce', nonce) end
          else
            redis.call('HDEL', k[GRANTS], 'w:' .. token, 'm:' .. member)
            if nonce then redis.call('HSET', k[GRANTS], 'n:' .. token, nonce) end
          end
        end
        -- Marks the lease `token` holds as claimed by a client that asked
        -- again with its token: neither a give-back of a grant no client
        -- received (``end_lease``'s `unclaimed`) nor a waiter that was
        -- handed it and left ends it under that client.
        local function claim(k, token)
          if redis.call('HGET', k[LEASE], 'token') == token then
            redis.call('HSET', k[LEASE], 'claimed', '1', 'member', '')
            return
          end
          local member = redis.call('HGET', k[GRANTS], 'w:' .. token)
          if member then redis.call('HDEL', k[GRANTS], 'w:' .. token, 'm:' .. string.sub(member, 2)) end
          redis.call('HSET', k[GRANTS], 'c:' .. token, '1')
        end
        -- Whether the lockd instance that owns a queue member may be granted
        -- a lease without asking: it beat within the last \(freshBeatMs) ms (a
        -- frozen lockd, which still counts as alive for the rest of the
        -- window, would sit on the grant until it resumes) and it still
        -- listens for wake-ups (a lockd that exited is gone from here at
        -- once; in a Redis Cluster on the name's shard channel for this
        -- instance, in the name's slot, which it listens on while it has a
        -- waiter on the name).
        -- (`alive_until`: the instance's score, when read already.)
        local function ready_for_grant(k, name, instance, now, alive_until)
          alive_until = alive_until or tonumber(redis.call('ZSCORE', k[INSTANCES], instance) or '0')
          if alive_until - now < \(RedisLockStore.livenessWindowMs - freshBeatMs) then return false end
          if sharded then
            return redis.call('PUBSUB', 'SHARDNUMSUB', '\(wakeupChannel):{' .. name .. '}:' .. instance)[2] > 0
          end
          return redis.call('PUBSUB', 'NUMSUB', '\(wakeupChannel):' .. instance)[2] > 0
        end
        -- Whether a lease is kept in the plain lock's hash: exclusive, on a
        -- name of limit 1, without a lock delay (a delay keeps an expired
        -- lease's slot, which only the holders' layout can).
        local function is_plain(wish, limit, delay) return wish == 'x' and limit == 1 and delay == 0 end
        -- Issues the next fence and records a lease: the plain lock's hash,
        -- or a grant among the holders, whose slot stays taken `delay` ms
        -- past its expiry. `member` (or nil) is the waiter it was handed to
        -- without asking (see ``hand_over``). `nonce` (or nil) names the
        -- attempt granted it, for a give-back that never learned its fence
        -- (``end_lease``): `nonce` in the lease hash, `n:token` among the
        -- grants. Only attempts under a client's own token send one.
        -- `slotted`: the holders' entry was added already (see ``hand_over``).
        -- `ttl_text` (or nil): `ttl` as its decimal text, when the caller has
        -- it (the call's argument, a wish's field): not formatted again.
        -- (Each `num` costs ~0.25 µs; the fence's text is the clock's when
        -- the fence is, as it is for nearly every grant.)
        local function grant(k, now, now_us, wish, limit, token, ttl, owner, client, member, delay, nonce, slotted, ttl_text)
          -- Past both the counter and the clock: a counter lost, or stale on a
          -- promoted replica, cannot bring back a fence issued before.
          local fence, fence_text
          if redis.REDIS_VERSION_NUM then
            -- Redis 7 (6.2 has `SET … GET`, but tells no version to Lua): the
            -- counter set to the clock and its old value read in one call,
            -- set again only when the clock is not past it (grants within
            -- one µs: a run handed over together, or a clock stepped back).
            fence_text = num(now_us)
            fence = math.max((tonumber(redis.call('SET', k[FENCE], fence_text, 'PX', '\(fenceRetentionMs)', 'GET')) or 0) + 1, now_us)
            if fence ~= now_us then
              fence_text = num(fence)
              redis.call('SET', k[FENCE], fence_text, 'PX', '\(fenceRetentionMs)')
            end
          else
            fence = math.max((tonumber(redis.call('GET', k[FENCE])) or 0) + 1, now_us)
            fence_text = num(fence)
            redis.call('SET', k[FENCE], fence_text, 'PX', '\(fenceRetentionMs)')
          end
          ttl_text = ttl_text or num(ttl)
          if is_plain(wish, limit, delay) then
            redis.call('HSET', k[LEASE], 'token', token, 'fence', fence_text, 'owner', owner, 'ttl', ttl_text, 'client', client,
                       'member', member or '')
            if nonce then redis.call('HSET', k[LEASE], 'nonce', nonce) end
            redis.call('PEXPIRE', k[LEASE], ttl_text)
          else
            local record = fence_text .. ':' .. ttl_text .. ':' .. client .. '|' .. owner
            if member and delay == 0 and not nonce then
              -- A hand-over's usual grant, without a table to unpack.
              redis.call('HSET', k[GRANTS], token, record, 'mode', wish, 'limit', num(limit), 'w:' .. token, '@' .. member, 'm:' .. member, token)
            else
              local fields = {token, record, 'mode', wish, 'limit', num(limit)}
              if delay > 0 then fields[#fields + 1] = 'd:' .. token; fields[#fields + 1] = num(delay) end
              if nonce then fields[#fields + 1] = 'n:' .. token; fields[#fields + 1] = nonce end
              if member then
                fields[#fields + 1] = 'w:' .. token; fields[#fields + 1] = '@' .. member
                fields[#fields + 1] = 'm:' .. member; fields[#fields + 1] = token
              end
              redis.call('HSET', k[GRANTS], unpack(fields))
            end
            if not slotted then redis.call('ZADD', k[HOLDERS], num(now + ttl + delay), token) end
            cover_holders(k[HOLDERS], k[GRANTS], now, now + ttl + delay)
          end
          return fence
        end
        -- The waiters in `run` fit now, in order: grants each its lease here
        -- from the wish it left (so its lockd answers without another
        -- script call) and announces `member fence now` for it. From the
        -- first that left no wish (a `replicated` acquire, or a token that
        -- holds the name already) on, the rest are only woken (`member`) and
        -- take the name themselves, so grants stay in queue order.
        -- `first_alive`, `alive` and `whole` are ``admissible``'s. (No plain
        -- lease is held here: a run follows a free name, or holders that
        -- admit more.)
        -- `caller` (or nil): the instance whose call this is. When the run
        -- is its waiters alone, and so are the waiters left in the queue
        -- (they must hear when to look again), nobody else needs the
        -- announcement: it is returned instead of published, for
        -- the caller to deliver from the reply (no message to send and
        -- read), and the caller, alive as it calls, is not asked whether
        -- it listens. Returns that message, or nil when published.
        -- `rest`, `from`: ``admissible``'s last read and where the members
        -- after the run start in it, when it reached the queue's end (nil:
        -- not known). `first_end` (or nil: not known): when the first of the
        -- holders left before these grants frees its slot (ms; false: none).
        local function hand_over(k, name, now, now_us, run, first_alive, alive, whole, caller, rest, from, first_end)
          local entries, woken, listens, plain_ttl = {}, false, {}, nil
          local in_reply = caller ~= nil
          for i = 1, #run do
            if in_reply and not is_of(run[i], caller) then in_reply = false end
          end
          if in_reply and not whole then
            -- The run is the queue's head (``admissible``); every waiter
            -- after it must be the caller's too: another instance's, even
            -- far back, is to hear when to look again, for should the
            -- caller die with its grants its lockd alone moves the queue on.
            -- A queue that goes on past ``admissible``'s last read is announced.
            if not rest then in_reply = false else
              for i = from, #rest do
                if not is_of(rest[i], caller) then in_reply = false break end
              end
            end
          end
          for i = 1, #run do
            local member = run[i]
            local ttl, delay, token, client, owner
            -- (A caller told in the reply listens: it is calling.)
            local listening = in_reply
            if not in_reply and not woken then
              local instance = instance_of(member)
              if listens[instance] == nil then listens[instance] = ready_for_grant(k, name, instance, now, alive[instance]) end
              listening = listens[instance]
            end
            if not woken and listening then
              local wish = redis.call('HGET', k[WISHES], member)
              -- `ttl|token|client|owner`, or `ttl:delay|…` with a lock delay.
              if wish then ttl, delay, token, client, owner = string.match(wish, '^(%d+):?(%d*)|([^|]+)|([^|]*)|(.*)$') end
            end
            local wish, limit, slotted = nil, nil, false
            if token then
              wish, limit = wish_of(member)
              delay = tonumber(delay) or 0
              -- A token that holds the name already (its client asked again
              -- under it) is not granted twice: among the holders, its slot
              -- is there (`ZADD NX` adds none, in the call that would add
              -- the new one); a plain grant follows a free name, which no
              -- token holds (see above).
              if not is_plain(wish, limit, delay) then
                slotted = redis.call('ZADD', k[HOLDERS], 'NX', num(now + tonumber(ttl) + delay), token) == 1
                if not slotted then token = nil end
              end
            end
            if token then
              unqueue(k, member)
              local fence = grant(k, now, now_us, wish, limit, token, tonumber(ttl), owner, client, member, delay, nil, slotted, ttl)
              if is_plain(wish, limit, delay) then
                plain_ttl = tonumber(ttl)
              elseif first_end ~= nil then
                local ends = now + tonumber(ttl) + delay
                if not first_end or ends < first_end then first_end = ends end
              end
              entries[i] = member .. ' ' .. num(fence) .. ' ' .. num(now)
            else
              woken = true
              entries[i] = member
            end
          end
          -- Every instance's first waiter looks again when the woken head's
          -- lockd would count as gone, or, when all were granted and some
          -- still wait, when the first lease ends (an expiry announces
          -- nothing).
          local recheck = first_alive
          if woken and not recheck then
            -- The woken head is the caller's, whose liveness ``admissible``
            -- left unread. Lapsed, the others look again at once, as they
            -- would have found its waiters dropped.
            recheck = math.max(1, tonumber(redis.call('ZSCORE', k[INSTANCES], caller) or '0') - now)
          end
          if not woken then
            recheck = 0
            if not whole then
              if plain_ttl then
                recheck = plain_ttl
              else
                local first = first_end
                if first == nil then first = tonumber(redis.call('ZRANGE', k[HOLDERS], '0', '0', 'WITHSCORES')[2]) end
                if first and first > now then recheck = first - now end
              end
            end
          end
          if in_reply then return wake_message(name, recheck, entries) end
          announce(name, recheck, entries)
          return nil
        end
        -- Takes `member` out of the queue. When it stood among the waiters
        -- that fit, or stopped them, hands the name to the ones that fit
        -- now, or has the new head look again when the first lease ends.
        local function leave(k, member, name, now, now_us)
          local rank = redis.call('ZRANK', k[QUEUE], member)
          if not rank then return end
          unqueue(k, member)
          local mode, limit, count = holding(k[LEASE], k[HOLDERS], k[GRANTS], now)
          local run, whole, _, _, _, first_alive, _, alive = admissible(k, now, mode, limit, count, nil)
          if rank > #run then return end
          if #run > 0 then
            hand_over(k, name, now, now_us, run, first_alive, alive, whole)
          elseif redis.call('EXISTS', k[QUEUE]) == 1 then
            local recheck = until_first_expiry(k[LEASE], k[HOLDERS], now)
            if recheck then announce(name, recheck, {}) end
          end
        end

        -- Ends the live lease `token` holds and hands the name to the
        -- waiters that fit now; 0 when the token holds no live lease.
        -- `forced` (an administrator's force-release): a lease with a lock
        -- delay keeps its slot for the delay from now, as if it expired now.
        -- `unclaimed` (lockd giving back a grant its client never received):
        -- 0, and the lease stays, when a client has claimed it (``claim``).
        -- `fence` (a give-back's, or nil): 0, and the lease stays, when the
        -- lease `token` holds has another fence: it is a later grant under
        -- the same token (the one given back ended), which its client may hold.
        -- `nonce` (a give-back's whose grant's reply never came, or nil): 0,
        -- and the lease stays, unless the attempt `nonce` was granted it
        -- (``grant``): under a client's own token, the lease may be one the
        -- client holds from an earlier answer, or one a later request
        -- delivered.
        -- `caller`: see ``hand_over``, whose message it returns second.
        -- `now`, `now_us`: the clock, or nil to read it here only when
        -- needed (a plain lease ended with nobody waiting needs none).
        local function end_lease(k, token, name, now, now_us, forced, unclaimed, caller, fence, nonce)
          -- (`first`: when the first slot left frees; false: none, as a
          -- plain lease has no holders beside it.)
          local mode, limit, count, first, marks = nil, nil, 0, false, nil
          local plain = redis.call('HMGET', k[LEASE], 'token', 'claimed')
          if plain[1] == token then
            if unclaimed and plain[2] then return 0 end
            if fence and redis.call('HGET', k[LEASE], 'fence') ~= fence then return 0 end
            if nonce and redis.call('HGET', k[LEASE], 'nonce') ~= nonce then return 0 end
            redis.call('DEL', k[LEASE])
          else
            local ends = redis.call('ZSCORE', k[HOLDERS], token)
            if not ends then return 0 end
            if not now then now, now_us = clock() end
            marks = redis.call('HMGET', k[GRANTS], 'w:' .. token, 'd:' .. token, 'c:' .. token, 'mode', 'limit')
            local delay = tonumber(marks[2]) or 0
            if tonumber(ends) - delay <= now then return 0 end
            if unclaimed and marks[3] then return 0 end
            if fence and string.match(redis.call('HGET', k[GRANTS], token) or '', '^(%d+):') ~= fence then return 0 end
            if nonce and redis.call('HGET', k[GRANTS], 'n:' .. token) ~= nonce then return 0 end
            if forced and delay > 0 then
              -- The slot frees sooner than it would have: the queue's heads
              -- look again then. (The keys' expiry covers it already.)
              redis.call('ZADD', k[HOLDERS], num(now + delay), token)
              if marks[1] then redis.call('HDEL', k[GRANTS], 'w:' .. token, 'm:' .. string.sub(marks[1], 2)) end
              if redis.call('EXISTS', k[QUEUE]) == 0 then return 1 end
              -- Slots that ended unswept (nothing touched the name since)
              -- go first: one may have left room for the queue's heads now,
              -- and none may stand for when they look again.
              local left, first_left = live_holders(k[HOLDERS], k[GRANTS], now)
              local run, whole, _, _, _, first_alive, _, alive =
                admissible(k, now, marks[4] or 'x', tonumber(marks[5]) or 1, left, nil)
              if #run > 0 then
                hand_over(k, name, now, now_us, run, first_alive, alive, whole, nil, nil, nil, first_left)
              else
                announce(name, first_left - now, {})
              end
              return 1
            end
            redis.call('ZREM', k[HOLDERS], token)
            drop_grant(k[GRANTS], token, marks[1])
          end
          -- With a caller, the queue's first 34 in one read: a run whose
          -- waiters are all the caller's is told in the reply when every
          -- waiter after it is the caller's too (see ``hand_over``).
          local look, last = 2, '1'
          if caller then look, last = 34, '33' end
          local head = redis.call('ZRANGE', k[QUEUE], '0', last)
          if #head == 0 then return 1 end
          if not now then now, now_us = clock() end
          if plain[1] ~= token then
            -- (The keys keep their expiry: it covers the leases left.)
            count, first = live_holders(k[HOLDERS], k[GRANTS], now)
            first = first or false
            if count > 0 then mode, limit = marks[4] or 'x', tonumber(marks[5]) or 1 end
          end
          local run, whole, _, _, _, first_alive, _, alive, rest, from =
            admissible(k, now, mode, limit, count, nil, look, head, caller)
          if #run > 0 then return 1, hand_over(k, name, now, now_us, run, first_alive, alive, whole, caller, rest, from, first) end
          return 1
        end
        -- The acquire script's steps, functions of the library rather than
        -- closures of the script: a closure is made on every call, with its
        -- captured locals (~1.5 µs an acquire for five).
        -- Queues `member` at the tail, unless it is queued already, with
        -- its wish (`wants`, or nil: none, see ``hand_over``).
        local function join_queue(k, member, now, window, retention, wants)
          -- The beat keeps this fresh; a first waiter (or one after a long
          -- stall) must not count as gone before the next beat.
          local me = instance_of(member)
          if tonumber(redis.call('ZSCORE', k[INSTANCES], me) or '0') < now + window / 2 then
            redis.call('ZADD', k[INSTANCES], num(now + window), me)
          end
          -- At the tail, unless it is queued already (NX).
          local last = redis.call('ZRANGE', k[QUEUE], '-1', '-1', 'WITHSCORES')[2]
          redis.call('ZADD', k[QUEUE], 'NX', num((tonumber(last) or 0) + 1), member)
          retain(k[QUEUE], retention)
          if wants then
            redis.call('HSET', k[WISHES], member, wants)
            retain(k[WISHES], retention)
          end
        end
        -- The acquire script's reply for a request not granted: `with_holders`
        -- (`1`) or `refused` (1: the token holds the other mode) lists
        -- the holders, and how long until one could let a `wish` in.
        local function held_reply(k, now, wish, with_holders, refused, recheck, wake)
          if refused == 1 or with_holders == '1' then
            local list, mode, _, first_free, last_free, delayed_until = holder_list(k[LEASE], k[HOLDERS], k[GRANTS], now)
            -- A writer behind readers needs all of them gone, anyone else one.
            local retry = first_free
            if wish == 'x' and mode == 's' then retry = last_free end
            return {0, now, recheck, refused, wake, list, retry, delayed_until}
          end
          return {0, now, recheck, refused, wake, {}, 0, 0}
        end
        -- Whether `run` holds a waiter of another instance than `member`'s.
        local function others_ahead(run, member)
          local mine = member ~= '' and instance_of(member) or nil
          for _, waiter in ipairs(run) do
            if instance_of(waiter) ~= mine then return true end
          end
          return false
        end
        -- A retry, or the waiter collecting what a release handed it: 1
        -- when a client asked again with the token of a lease it holds:
        -- the lease is marked claimed (lockd must not give it back as one no
        -- client received) and no longer counts as handed to a waiter; 0
        -- when the waiter `member` collects what a release handed it (then
        -- the grant of its attempt `nonce`).
        local function retried(k, token, member, nonce)
          if member ~= '' and granted_token(k, member) == token then
            unmark(k, token, member, nonce)
            return 0
          end
          claim(k, token)
          return 1
        end

        """

    /// ``preludeText`` split into its functions (see ``LuaPrelude``).
    static let prelude = LuaPrelude(preludeText)
}
