#!/usr/bin/env python3
"""Wake-up delay after an expiry: how long after a lease lapses does lockd
grant the lock to a client that waits for it?

  expiry-wakeup.py URL [ROUNDS] [TTL_MS]   -> one JSON object on stdout

Each round: a holder acquires NAME with ttl_ms=TTL_MS and never releases it;
a waiter then acquires NAME with wait_ms=TTL_MS+5000. The lease starts while
the holder's request is in flight, so the true delay from expiry to the
waiter's 201 lies between
  low  = waiter's 201 read - (holder's 201 read + TTL_MS)   and
  high = waiter's 201 read - (holder's request sent + TTL_MS);
p50_ms/max_ms report `high` (an upper bound), low_p50_ms the lower one.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7070")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
ttl_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 200
run_id = os.urandom(4).hex()


def acquire(conn, name, body):
    sent = time.monotonic()
    conn.request("POST", f"/locks/{name}", json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else {}), sent, time.monotonic()


holder = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=ttl_ms / 1000 + 30)
waiter = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=ttl_ms / 1000 + 30)
delays, lows, errors, failures = [], [], 0, {}
for index in range(rounds):
    name = f"expiry:{run_id}:{index}"
    status, _, asked_at, held_at = acquire(holder, name, {"ttl_ms": ttl_ms})
    if status != 201:
        errors += 1
        failures[f"holder {status}"] = failures.get(f"holder {status}", 0) + 1
        continue
    status, lease, _, granted_at = acquire(waiter, name, {"ttl_ms": 30000, "wait_ms": ttl_ms + 5000})
    if status != 201:
        errors += 1
        failures[f"waiter {status}"] = failures.get(f"waiter {status}", 0) + 1
        continue
    delays.append((granted_at - asked_at) * 1000 - ttl_ms)
    lows.append((granted_at - held_at) * 1000 - ttl_ms)
    waiter.request("DELETE", f"/locks/{name}", headers={"Lock-Token": lease["token"]})
    waiter.getresponse().read()

delays.sort()
lows.sort()
print(json.dumps({
    "rounds": rounds, "ttl_ms": ttl_ms, "errors": errors, "failures": failures,
    "p50_ms": delays[len(delays) // 2] if delays else None,
    "max_ms": delays[-1] if delays else None,
    "low_p50_ms": lows[len(lows) // 2] if lows else None,
}))
