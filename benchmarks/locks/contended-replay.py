#!/usr/bin/env python3
"""Redis CPU per contended semaphore cycle, scripts pipelined (issue 12).

    python3 benchmarks/locks/contended-replay.py [REV ...] [lean]   # default: main HEAD

script-cost.py's `contended` shape (limit 4, 4 holders, 12 waiters of one live
lockd instance; each cycle a release by that instance that hands its slot to
the queue's head in its reply, and a new waiter's acquire that queues), the
cycles' calls sent at once (CYCLES a batch) so that no client round trip sits
between them; the figure is redis-server's CPU time (/proc/PID/schedstat) per
cycle, median of ROUNDS batches, the revisions alternating. `lean` runs the
same Redis commands as this branch's scripts in that cycle, in the same order
and with the same replies, with almost no Lua around them and none of the
scripts' checks: what the commands cost apart from the scripts' logic. It is
right only for this shape (the acquires that fill the name are REV's).
STATS=1 prints the commands Redis ran per cycle (INFO commandstats) for the
last batch of each revision.
"""
import collections, importlib.util, os, re, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("script_cost", os.path.join(HERE, "script-cost.py"))
sc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sc)
CYCLES = int(os.environ.get("CYCLES", "2000"))
ROUNDS = int(os.environ.get("ROUNDS", "15"))

LEAN = """#!lua name=lean
local function num(x) return string.format('%d', x) end
redis.register_function('lean_release', function(KEYS, ARGV)
  local t = redis.call('TIME')
  local now, now_us = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[1]) * 1000000 + tonumber(t[2])
  local token, name, caller = ARGV[1], ARGV[2], ARGV[4]
  redis.call('HMGET', KEYS[1], 'token', 'claimed')
  local ends = redis.call('ZSCORE', KEYS[5], token)
  redis.call('HMGET', KEYS[6], 'w:' .. token, 'd:' .. token, 'c:' .. token, 'mode', 'limit')
  if tonumber(ends) <= now then return 0 end
  redis.call('ZREM', KEYS[5], token)
  redis.call('HDEL', KEYS[6], token, 'd:' .. token, 'c:' .. token, 'n:' .. token)
  local head = redis.call('ZRANGE', KEYS[3], '0', '33')
  redis.call('ZCARD', KEYS[5])
  local first = redis.call('ZRANGE', KEYS[5], '0', '0', 'WITHSCORES')
  local member = head[1]
  for i = 2, #head do if string.find(head[i], caller, 1, true) ~= 1 then return -1 end end
  local ttl, _, tok, client, owner = string.match(redis.call('HGET', KEYS[7], member), '^(%d+):?(%d*)|([^|]+)|([^|]*)|(.*)$')
  redis.call('ZADD', KEYS[5], 'NX', num(now + tonumber(ttl)), tok)
  redis.call('ZREM', KEYS[3], member)
  redis.call('HDEL', KEYS[7], member)
  local fence = math.max((tonumber(redis.call('SET', KEYS[2], num(now_us), 'PX', '604800000', 'GET')) or 0) + 1, now_us)
  redis.call('HSET', KEYS[6], tok, num(fence) .. ':' .. ttl .. ':' .. client .. '|' .. owner, 'mode', 'x', 'limit', '4',
             'w:' .. tok, '@' .. member, 'm:' .. member, tok)
  redis.call('PTTL', KEYS[5])
  return {1, name .. '\\n' .. num(tonumber(first[2]) - now) .. '\\n' .. member .. ' ' .. num(fence) .. ' ' .. num(now)}
end)
redis.register_function('lean_acquire', function(KEYS, ARGV)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local token, ttl, owner, member = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
  local count = redis.call('ZCARD', KEYS[5])
  local first = redis.call('ZRANGE', KEYS[5], '0', '0', 'WITHSCORES')
  local meta = redis.call('HMGET', KEYS[6], 'mode', 'limit', token, 'd:' .. token)
  if count < tonumber(meta[2]) then return -1 end
  redis.call('ZSCORE', KEYS[4], string.sub(member, 1, 16))
  local last = redis.call('ZRANGE', KEYS[3], '-1', '-1', 'WITHSCORES')[2]
  redis.call('ZADD', KEYS[3], 'NX', num((tonumber(last) or 0) + 1), member)
  redis.call('PTTL', KEYS[3])
  redis.call('HSET', KEYS[7], member, ttl .. '|' .. token .. '|' .. ARGV[10] .. '|' .. owner)
  redis.call('PTTL', KEYS[7])
  return {0, now, tonumber(first[2]) - now, 0, {}, {}, 0, 0}
end)
"""


def encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def cycle_calls(calls, setup_calls, name):
    """The calls that fill the name (4 holders, 12 waiters) and CYCLES contended cycles' calls."""
    k = sc.keys(name)
    holders, queue, seq = collections.deque(), collections.deque(), [0]

    def acquire(using, member, out):
        seq[0] += 1
        token = f"tok{seq[0]:019d}"
        out.append(encode(*using["acquire"], 7, *k, *sc.acquire_args(using, token, name, member=member, retention=7000, limit=4,
                                                                      asks_wish="1" if member else "", with_holders="")))
        return token

    setup, cycles = [], []
    for _ in range(4):
        holders.append(acquire(setup_calls, "", setup))
    for _ in range(12):
        queue.append(acquire(setup_calls, f"{sc.INSTANCE}:w{seq[0]:08d}:4", setup))
    for _ in range(CYCLES):
        cycles.append(encode(*calls["release"], 7, *k, *sc.release_args(calls, holders.popleft(), name, sc.INSTANCE)))
        holders.append(queue.popleft())
        queue.append(acquire(calls, f"{sc.INSTANCE}:w{seq[0]:08d}:4", cycles))
    return setup, cycles


def main():
    revs = sys.argv[1:] or ["main", "HEAD"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", tempfile.mkdtemp()], stdout=subprocess.DEVNULL)
    cpu = lambda: int(open(f"/proc/{server.pid}/schedstat").read().split()[0])
    try:
        for _ in range(100):
            try:
                r = sc.Redis(port)
                r.send("PING")
                break
            except OSError:
                time.sleep(0.05)
        listener = sc.Redis(port)
        listener.send("SUBSCRIBE", f"lockd:waiting:{sc.INSTANCE}")
        r.send("ZADD", "lockd:instances", int(r.send("TIME")[0]) * 1000 + 3_600_000, sc.INSTANCE)
        loaded = {}
        for rev in revs:
            if rev == "lean":
                r.send("FUNCTION", "LOAD", "REPLACE", LEAN)
                loaded[rev] = {"acquire": ("FCALL", "lean_acquire"), "release": ("FCALL", "lean_release"), "layout": "long"}
                continue
            code, functions = sc.library(rev)
            r.send("FUNCTION", "LOAD", "REPLACE", code)
            loaded[rev] = {name: ("FCALL", functions[name]) for name in ("acquire", "release")}
            loaded[rev]["layout"] = sc.layout(rev)
        real = next(rev for rev in revs if rev != "lean")
        figures = collections.defaultdict(list)
        for batch in range(ROUNDS):
            for rev in revs:
                name = f"bench:replay:{batch}:{time.monotonic_ns()}"
                setup, cycles = cycle_calls(loaded[rev], loaded[real if rev == "lean" else rev], name)
                for call in setup:
                    r.sock.sendall(call)
                    r.read()
                r.send("CONFIG", "RESETSTAT")
                before = cpu()
                r.sock.sendall(b"".join(cycles))
                for i in range(len(cycles)):
                    reply = r.read()
                    assert (reply[0] == "0") if i % 2 else (reply == "1" or reply[0] == "1"), reply
                figures[rev].append((cpu() - before) / 1000 / CYCLES)
                if os.environ.get("STATS") == "1" and batch == ROUNDS - 1:
                    for m in re.finditer(r"cmdstat_(\S+?):calls=(\d+),usec=(\d+)", r.send("INFO", "commandstats")):
                        if m.group(1) != "config|resetstat":
                            print(f"  {rev} {m.group(1):8} {int(m.group(2)) / CYCLES:5.2f} a cycle, {int(m.group(3)) / CYCLES:6.2f} µs")
                r.send("DEL", *sc.keys(name))
        median = lambda xs: sorted(xs)[len(xs) // 2]
        print(f"Redis CPU per contended cycle, median of {ROUNDS} batches x {CYCLES} cycles; load {os.getloadavg()[0]:.1f}")
        for rev in revs:
            print(f"{rev:10} {median(figures[rev]):6.2f} µs (least {min(figures[rev]):.2f})")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
