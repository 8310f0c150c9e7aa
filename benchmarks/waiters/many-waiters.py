#!/usr/bin/env python3
"""Holds N waiting acquires open against one lockd and reports its memory.

    python3 benchmarks/waiters/many-waiters.py --port 7070 --pid PID [--waiters 10000] [--names 100]

Takes `names` locks, then opens `waiters` keep-alive connections, each sending
one acquire with wait_ms=60000 on one of those names (spread evenly), and
reads lockd's RSS (from /proc/PID/status) before and while they wait. Then it
releases one name and checks that exactly one waiter was granted, closes every
connection, and checks that lockd dropped every waiter (its RSS after).
Loopback only; bounded in time (about a minute at most).
"""
import argparse, asyncio, json, resource, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

async def request(port, method, path, body=b"", headers=None, timeout=10):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    data = await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--waiters", type=int, default=10000)
    ap.add_argument("--names", type=int, default=100)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.waiters + 1000), hard))
    prefix = f"waiters:{int(time.time())}"
    tokens = {}
    for i in range(a.names):
        s, b = await request(a.port, "POST", f"/locks/{prefix}:{i}", b'{"ttl_ms":120000}')
        assert s == 201, (s, b)
        tokens[i] = json.loads(b)["token"]
    before = rss_kib(a.pid)
    conns = []
    body = b'{"ttl_ms":60000,"wait_ms":60000}'
    for w in range(a.waiters):
        r, wr = await asyncio.open_connection("127.0.0.1", a.port)
        wr.write(f"POST /locks/{prefix}:{w % a.names} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        conns.append((r, wr))
    await asyncio.sleep(3)
    during = rss_kib(a.pid)
    s, _ = await request(a.port, "DELETE", f"/locks/{prefix}:0", headers={"Lock-Token": tokens[0]})
    assert s == 204
    await asyncio.sleep(1)
    granted = 0
    for r, wr in conns:
        try:
            data = await asyncio.wait_for(r.read(1), 0.001)
            if data:
                granted += 1
        except asyncio.TimeoutError:
            pass
    for r, wr in conns:
        wr.close()
    await asyncio.sleep(3)
    after = rss_kib(a.pid)
    print(json.dumps({"waiters": a.waiters, "names": a.names, "rss_kib_before": before,
                      "rss_kib_with_waiters": during, "per_waiter_bytes": round((during - before) * 1024 / a.waiters),
                      "granted_after_one_release": granted, "rss_kib_after_close": after}))

asyncio.run(main())
