#!/usr/bin/env python3
"""What a contended semaphore cycle could cost Redis at least: a minimal pair of
functions beside lockd's scripts, for sizing a new layout (issue 12). Not
lockd's semantics: no instance liveness, no hand-over marks, no key expiry,
no retries. release drops the holder, pops the queue's head (a list entry
carrying its wish), grants it (holders, grants, the fence by INCR); a queued
acquire counts the holders and appends itself with its wish. Limit 4, 4
holders and 12 waiters, then 300 release + queued-acquire cycles per batch,
as script-cost.py's `contended` shape runs lockd's scripts; prints Redis's own
FCALL time per cycle, median of 15 batches.

    python3 benchmarks/locks/semaphore-floor.py
"""
import os, re, time, subprocess, tempfile, collections, importlib.util
spec = importlib.util.spec_from_file_location("sc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "script-cost.py")); sc = importlib.util.module_from_spec(spec); spec.loader.exec_module(sc)
port = 20000 + os.getpid() % 20000; wd = tempfile.mkdtemp()
srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", wd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
lib = """#!lua name=floor
redis.register_function('rel', function(KEYS, ARGV)
  local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000
  if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
  local head = redis.call('LPOP', KEYS[2])
  if not head then return 1 end
  local member, ttl, token = string.match(head, '^([^|]*)|(%d+)|([^|]*)')
  local fence = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ttl)), token)
  redis.call('HSET', KEYS[4], token, fence .. ':' .. ttl)
  return {1, member .. ' ' .. fence .. ' ' .. string.format('%d', now)}
end)
redis.register_function('acq', function(KEYS, ARGV)
  local t = redis.call('TIME')
  local count = redis.call('ZCARD', KEYS[1])
  if count >= tonumber(ARGV[2]) then
    redis.call('RPUSH', KEYS[2], ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[1] .. '|' .. ARGV[5])
    return {0}
  end
  local fence = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], string.format('%d', tonumber(t[1]) * 1000 + tonumber(ARGV[4])), ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], fence .. ':' .. ARGV[4])
  return {1, fence}
end)
"""
try:
    for _ in range(100):
        try: r = sc.Redis(port); r.send("PING"); break
        except OSError: time.sleep(0.05)
    r.send("FUNCTION", "LOAD", "REPLACE", lib)
    res = []
    for rnd in range(15):
        k = [f"f:{{n{rnd}}}:holders", f"f:{{n{rnd}}}:queue", f"f:{{n{rnd}}}:fence", f"f:{{n{rnd}}}:grants"]
        holders, queue, seq = collections.deque(), collections.deque(), [0]
        def acq(member):
            seq[0] += 1; tok = f"tok{seq[0]:019d}"
            rep = r.send("FCALL", "acq", 4, *k, tok, 4, member, 30000, "owner")
            return tok, rep
        for _ in range(4): holders.append(acq("")[0])
        for _ in range(12): queue.append(acq(f"abcdefghijklmnop:w{seq[0]:08d}:4")[0])
        r.send("CONFIG", "RESETSTAT")
        for _ in range(300):
            rep = r.send("FCALL", "rel", 4, *k, holders.popleft()); assert rep[0] == "1", rep
            holders.append(queue.popleft())
            tok, rep = acq(f"abcdefghijklmnop:w{seq[0]:08d}:4"); assert rep[0] == "0", rep; queue.append(tok)
        m = re.search(r"cmdstat_fcall:calls=(\d+),usec=(\d+)", r.send("INFO", "commandstats"))
        res.append(2 * int(m.group(2)) / int(m.group(1)))
    res.sort(); print(f"floor contended cycle: {res[len(res)//2]:.2f} us per cycle (2 calls, 10 commands)")
finally:
    srv.terminate(); srv.wait()
