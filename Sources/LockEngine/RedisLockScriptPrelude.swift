extension RedisLockScripts {
    /// Lua helpers every script starts with: the clock, the queue, the
    /// holders in either layout, and who may take a name.
    static let prelude = """
        local function num(x) return string.format('%.0f', x) end
        local function clock()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        -- A grant is `fence:ttl:client|owner` (client ids hold no '|'; an
        -- older grant has no client). Returns the owner, then the client.
        local function owner_client(tail)
          local client, owner = string.match(tail, '^([^|]*)|(.*)$')
          if client then return owner, client end
          return tail, ''
        end
        local function instance_of(member) return string.sub(member, 1, \(instanceIDLength)) end
        -- What a queue entry waits for, from its waiter id's tail: 'x'
        -- (exclusive) or 's' (shared), and the name's limit.
        local function wish_of(member)
          local tail = string.match(member, '^[^:]+:[^:]+:(.+)$')
          if tail == 's' then return 's', 1 end
          return 'x', tonumber(tail) or 1
        end
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
        -- Wakes `members` (of any instance) and has every instance's first
        -- waiter on the name look again after `recheck` ms.
        local function announce(name, recheck, members)
          local message = name .. '\\n' .. num(recheck)
          if #members > 0 then message = message .. '\\n' .. table.concat(members, '\\n') end
          redis.call('PUBLISH', '\(wakeupChannel)', message)
        end
        -- Whether a lease wished as `wish` fits beside `count` holders in
        -- `mode` on a name of `limit`.
        local function fits(mode, limit, count, wish)
          if count == 0 then return true end
          if wish == 's' then return mode == 's' end
          return mode == 'x' and count < limit
        end
        -- The holders of a name that is not a plain lock: their mode ('x' or
        -- 's'; nil when free), the name's limit and their count, after
        -- dropping expired ones.
        local function multi_holding(holders, grants, now)
          if redis.call('EXISTS', holders) == 0 then return nil, nil, 0 end
          local expired = redis.call('ZRANGEBYSCORE', holders, '-inf', num(now))
          if #expired > 0 then
            redis.call('ZREMRANGEBYSCORE', holders, '-inf', num(now))
            for i = 1, #expired do redis.call('HDEL', grants, expired[i]) end
          end
          local count = redis.call('ZCARD', holders)
          if count == 0 then
            redis.call('DEL', grants)
            return nil, nil, 0
          end
          local meta = redis.call('HMGET', grants, 'mode', 'limit')
          -- (Defaults only if an eviction took the grants hash alone.)
          return meta[1] or 'x', tonumber(meta[2]) or 1, count
        end
        local function holding(lease, holders, grants, now)
          if redis.call('EXISTS', lease) == 1 then return 'x', 1, 1 end
          return multi_holding(holders, grants, now)
        end
        -- Keeps the holders' keys until the last of their leases expires.
        local function keep_holders(holders, grants, now)
          local last = redis.call('ZRANGE', holders, -1, -1, 'WITHSCORES')[2]
          if not last then return end
          local ms = num(math.max(1, tonumber(last) - now))
          redis.call('PEXPIRE', holders, ms)
          redis.call('PEXPIRE', grants, ms)
        end
        -- Milliseconds until the first lease on the name expires; nil when free.
        local function until_first_expiry(lease, holders, now)
          local pttl = redis.call('PTTL', lease)
          if pttl > 0 then return pttl end
          local first = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')[2]
          if first and tonumber(first) > now then return tonumber(first) - now end
          return nil
        end
        -- The live holders, flat: `fence, remaining_ms, mode, owner, client, …`;
        -- then their mode and the name's limit (nil when free). Reads only.
        local function holder_list(lease, holders, grants, now)
          local current = redis.call('HMGET', lease, 'fence', 'owner', 'client')
          if current[1] then
            return {tonumber(current[1]), redis.call('PTTL', lease), 'x', current[2] or '', current[3] or ''}, 'x', 1
          end
          local list = {}
          local live = redis.call('ZRANGEBYSCORE', holders, '(' .. num(now), '+inf', 'WITHSCORES')
          if #live == 0 then return list, nil, nil end
          local meta = redis.call('HMGET', grants, 'mode', 'limit')
          meta[1] = meta[1] or 'x'
          for i = 1, #live, 2 do
            local grant = redis.call('HGET', grants, live[i])
            if grant then
              local fence, _, tail = string.match(grant, '^(%d+):(%d+):(.*)$')
              local owner, client = owner_client(tail)
              list[#list + 1] = tonumber(fence)
              list[#list + 1] = tonumber(live[i + 1]) - now
              list[#list + 1] = meta[1]
              list[#list + 1] = owner
              list[#list + 1] = client
            end
          end
          return list, meta[1], tonumber(meta[2]) or 1
        end
        -- The live waiters at the queue's head that fit beside the holders
        -- and each other, in order (at most 1000, and none after `stop`),
        -- dropping waiters whose lockd stopped beating. Returns them; whether
        -- they are the whole queue; the mode and count a request behind them
        -- would find; the name's limit (the first waiter's when nothing holds
        -- it); how long the first one's lockd counts as alive; and whether
        -- any waiter was dropped.
        local function admissible(queue, instances, now, mode, limit, count, stop)
          local run, alive, kept, first_alive, dropped = {}, {}, 0, 0, false
          while true do
            -- The head alone first: most names admit one waiter at a time.
            local batch = redis.call('ZRANGE', queue, kept, kept + (kept == 0 and 0 or 31))
            if #batch == 0 then return run, true, mode, count, limit, first_alive, dropped end
            for i = 1, #batch do
              local member = batch[i]
              local instance = instance_of(member)
              if alive[instance] == nil then
                alive[instance] = tonumber(redis.call('ZSCORE', instances, instance) or '0')
              end
              if alive[instance] <= now then
                redis.call('ZREM', queue, member)
                dropped = true
              else
                local wish, wish_limit = wish_of(member)
                limit = limit or wish_limit
                if #run >= 1000 or not fits(mode, limit, count, wish) then
                  return run, false, mode, count, limit, first_alive, dropped
                end
                if #run == 0 then first_alive = alive[instance] - now end
                run[#run + 1] = member
                mode, count, kept = wish, count + 1, kept + 1
                if member == stop or (mode == 'x' and count >= limit) then
                  return run, false, mode, count, limit, first_alive, dropped
                end
              end
            end
          end
        end
        -- Takes `member` out of the queue. When it stood among the waiters
        -- that fit, or stopped them, wakes the ones that fit now, or has the
        -- new head look again when the first lease ends.
        local function leave(queue, instances, lease, holders, grants, member, name, now)
          local rank = redis.call('ZRANK', queue, member)
          if not rank then return end
          redis.call('ZREM', queue, member)
          local mode, limit, count = holding(lease, holders, grants, now)
          local run, _, _, _, _, first_alive = admissible(queue, instances, now, mode, limit, count, nil)
          if rank > #run then return end
          if #run > 0 then
            announce(name, first_alive, run)
          elseif redis.call('EXISTS', queue) == 1 then
            local recheck = until_first_expiry(lease, holders, now)
            if recheck then announce(name, recheck, {}) end
          end
        end

        -- Ends the live lease `token` holds and wakes the waiters that fit
        -- now; 0 when the token holds no live lease.
        local function end_lease(lease, queue, instances, holders, grants, token, name, now)
          local mode, limit, count = nil, nil, 0
          if redis.call('HGET', lease, 'token') == token then
            redis.call('DEL', lease)
          else
            local expiry = redis.call('ZSCORE', holders, token)
            if not expiry or tonumber(expiry) <= now then return 0 end
            redis.call('ZREM', holders, token)
            redis.call('HDEL', grants, token)
            mode, limit, count = multi_holding(holders, grants, now)
            if count > 0 then keep_holders(holders, grants, now) end
          end
          local run, _, _, _, _, first_alive = admissible(queue, instances, now, mode, limit, count, nil)
          if #run > 0 then announce(name, first_alive, run) end
          return 1
        end

        """
}
