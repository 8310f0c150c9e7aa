#!/usr/bin/env python3
"""Fault soak: several lockd on one Redis, random faults, and checks.

    python3 benchmarks/faults/soak.py [--duration 60] [--lockd .build/debug/lockd] [--json out.json]

Starts its own redis-server (no persistence) and --instances lockd on free
loopback ports, runs --clients clients that take --names locks in turn
(acquire with wait_ms, hold briefly, release through any instance), and
meanwhile injects random faults, one at a time: a lockd stopped (SIGSTOP,
then SIGCONT), a lockd killed (SIGKILL, then started again), Redis stopped,
and Redis restarted empty. Then it checks:

- fences: unique per name, and a grant that started after another was seen
  has a larger fence;
- no 500 (or any status lockd must not send), no dead grant (a lease
  delivered after its expires_at);
- recovery: after each fault every affected instance serves an
  acquire/release again within --max-recovery-ms;
- waiting liveness: no waiting acquire saw its name free for longer than
  --max-stall-ms while its lockd and Redis were up (free: no lease that any
  client could hold, counting unknown outcomes as held until they expire);
- nothing left behind: no lease or queue of the run's names in Redis at the end.

Prints a JSON summary and exits 1 when a check fails. Loopback only; stops
by itself after --duration seconds (plus at most ~30 s to wind down), and
stops only the processes it started, by PID.
"""
import argparse, asyncio, datetime, json, os, random, signal, socket, subprocess, sys, tempfile, time

OK_STATUSES = {200, 201, 204, 409, 503}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now():
    return time.monotonic()


async def request(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on a fresh connection: (status, json body), or raises."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    try:
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    if not raw:
        raise ConnectionError("empty response")
    status = int(raw.split(b" ", 2)[1])
    payload = raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""
    try:
        return status, json.loads(payload) if payload else {}
    except ValueError:
        return status, {}


def epoch_ms(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000


class Cluster:
    """The processes this run owns: one redis-server, several lockd."""

    def __init__(self, lockd, instances, tmp):
        self.lockd_binary, self.tmp = lockd, tmp
        self.redis_port = free_port()
        self.ports = [free_port() for _ in range(instances)]
        self.redis = None
        self.lockds = [None] * instances

    def start_redis(self):
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.tmp, "--logfile", os.path.join(self.tmp, "redis.log")])
        deadline = now() + 10
        while now() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), 0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.01)
        raise SystemExit("soak: redis-server did not start")

    def start_lockd(self, i):
        log = open(os.path.join(self.tmp, f"lockd{i}.log"), "ab")
        self.lockds[i] = subprocess.Popen(
            [self.lockd_binary, "--listen", f"127.0.0.1:{self.ports[i]}", "--redis", f"redis://127.0.0.1:{self.redis_port}",
             "--log-level", "warning"], stdout=log, stderr=log)

    def redis_call(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, text=True, timeout=10).stdout

    def stop_all(self):
        for p in self.lockds + [self.redis]:
            if p and p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait()


class Soak:
    def __init__(self, a, cluster):
        self.a, self.c = a, cluster
        self.prefix = f"soak:{os.getpid()}:{int(time.time())}"
        self.names = [f"{self.prefix}:{i}" for i in range(a.names)]
        self.statuses = {}
        self.grants = []       # {name, fence, sent, received, wall, expires_at, ttl, released}
        self.unknown = []      # (name, sent, failed, ttl_s): acquires whose outcome is unknown
        self.waits = []        # {name, instance, sent, answered, status}
        self.faults = []       # {kind, target, start, end, recovered}
        self.problems = []
        self.running = True

    def count(self, status):
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status not in OK_STATUSES:
            self.problems.append(f"status {status}")

    async def client(self, index):
        rng = random.Random(self.a.seed * 1000 + index)
        while self.running:
            name = rng.choice(self.names)
            instance = rng.randrange(len(self.c.ports))
            sent = now()
            try:
                status, body = await request(self.c.ports[instance], "POST", f"/locks/{name}",
                                             {"ttl_ms": self.a.ttl_ms, "wait_ms": self.a.wait_ms, "owner": f"c{index}"},
                                             timeout=self.a.wait_ms / 1000 + 5)
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)  # its lockd is down: nothing was asked
                continue
            except (OSError, asyncio.TimeoutError, ConnectionError, IndexError, ValueError):
                # Its lockd died or hung: a lease may exist that nobody knows of.
                self.unknown.append((name, sent, now(), self.a.ttl_ms / 1000))
                await asyncio.sleep(0.05)
                continue
            answered = now()
            self.count(status)
            self.waits.append({"name": name, "instance": instance, "sent": sent, "answered": answered, "status": status})
            if status not in (200, 201):
                await asyncio.sleep(rng.uniform(0, 0.05) if status == 409 else 0.1)
                continue
            grant = {"name": name, "fence": body["fence"], "sent": sent, "received": answered, "wall": time.time() * 1000,
                     "expires_at": epoch_ms(body["expires_at"]), "ttl": body["ttl_ms"] / 1000, "released": None}
            self.grants.append(grant)
            await asyncio.sleep(rng.uniform(0, self.a.hold_ms / 1000))
            await self.release(grant, body["token"], rng)

    async def release(self, grant, token, rng):
        deadline = grant["received"] + grant["ttl"]
        while now() < deadline:
            instance = rng.randrange(len(self.c.ports))
            try:
                status, _ = await request(self.c.ports[instance], "DELETE", f"/locks/{grant['name']}", headers={"Lock-Token": token})
            except (OSError, asyncio.TimeoutError, ConnectionError, IndexError, ValueError):
                await asyncio.sleep(0.05)
                continue
            self.count(status)
            if status in (204, 409):  # released, or already expired / lost with Redis's data
                grant["released"] = now()
                return
            await asyncio.sleep(0.05)

    async def serves(self, instance, n):
        name = f"{self.prefix}:probe:{instance}:{n}"
        try:
            status, body = await request(self.c.ports[instance], "POST", f"/locks/{name}", {"ttl_ms": 1000}, timeout=1)
            if status != 201:
                return False
            status, _ = await request(self.c.ports[instance], "DELETE", f"/locks/{name}", headers={"Lock-Token": body["token"]}, timeout=1)
            return status == 204
        except (OSError, asyncio.TimeoutError, ConnectionError, IndexError, ValueError):
            return False

    async def recovery(self, instances, since):
        """Seconds from `since` until every instance served a probe again."""
        pending, n = set(instances), 0
        while pending and now() - since < self.a.max_recovery_ms / 1000 + 5:
            for i in list(pending):
                n += 1
                if await self.serves(i, n):
                    pending.discard(i)
            if pending:
                await asyncio.sleep(0.02)
        return None if pending else now() - since

    async def inject(self):
        rng = random.Random(self.a.seed)
        kinds = ["lockd-stop", "lockd-kill", "redis-stop", "redis-restart"]
        await asyncio.sleep(2)
        while self.running:
            kind = rng.choice(kinds)
            target = rng.randrange(len(self.c.ports)) if kind.startswith("lockd") else None
            start = now()
            if kind == "lockd-stop":
                os.kill(self.c.lockds[target].pid, signal.SIGSTOP)
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                os.kill(self.c.lockds[target].pid, signal.SIGCONT)
            elif kind == "lockd-kill":
                self.c.lockds[target].kill()
                self.c.lockds[target].wait()
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                self.c.start_lockd(target)
            elif kind == "redis-stop":
                os.kill(self.c.redis.pid, signal.SIGSTOP)
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                os.kill(self.c.redis.pid, signal.SIGCONT)
            else:
                self.c.redis.kill()
                self.c.redis.wait()
                await asyncio.sleep(rng.uniform(0.0, 0.5))
                await asyncio.to_thread(self.c.start_redis)
            end = now()
            affected = [target] if target is not None else list(range(len(self.c.ports)))
            recovered = await self.recovery(affected, end)
            self.faults.append({"kind": kind, "target": target, "start": start, "end": end, "recovered": recovered})
            if recovered is None or recovered * 1000 > self.a.max_recovery_ms:
                self.problems.append(f"{kind} (instance {target}): not serving again within {self.a.max_recovery_ms} ms")
            await asyncio.sleep(rng.uniform(self.a.fault_gap_s, self.a.fault_gap_s * 2))

    # ---- checks -----------------------------------------------------------------

    def check_fences(self):
        for name in self.names:
            grants = [g for g in self.grants if g["name"] == name]
            fences = [g["fence"] for g in grants]
            if len(set(fences)) != len(fences):
                self.problems.append(f"{name}: a fence was issued twice")
            # Every grant requested after another was seen must carry a larger fence.
            seen = sorted(grants, key=lambda g: g["received"])
            highest, i = 0, 0
            for g in sorted(grants, key=lambda g: g["sent"]):
                while i < len(seen) and seen[i]["received"] < g["sent"]:
                    highest = max(highest, seen[i]["fence"])
                    i += 1
                if g["fence"] <= highest:
                    self.problems.append(f"{name}: fence {g['fence']} granted after fence {highest} was seen")
            for g in grants:
                if g["wall"] >= g["expires_at"]:
                    self.problems.append(f"{name}: dead grant (delivered {g['wall'] - g['expires_at']:.0f} ms after it expired)")

    def excluded(self, instance):
        """Intervals when a waiter on `instance` could not be served: Redis
        down or stopped, or its own lockd stopped or dead, until recovered."""
        spans = []
        for f in self.faults:
            if f["target"] is None or f["target"] == instance:
                spans.append((f["start"], f["end"] + (f["recovered"] or 0)))
        return spans

    def held(self, name):
        """When a lease on `name` may have existed. A grant's lease starts at
        expires_at - ttl (Redis's clock, this machine's), and ends at its
        release's answer or its expiry. An acquire with an unknown outcome
        may hold a lease granted shortly before its lockd died."""
        spans = []
        for g in self.grants:
            if g["name"] == name:
                start = g["received"] - (g["wall"] - (g["expires_at"] - g["ttl"] * 1000)) / 1000
                end = g["released"] if g["released"] is not None else start + g["ttl"]
                spans.append((min(start, g["received"]), max(end, g["received"])))
        for n, sent, failed, ttl in self.unknown:
            if n == name:
                spans.append((max(sent, failed - 0.5), failed + ttl + 0.1))
        return spans

    @staticmethod
    def longest_gap(start, end, busy):
        """Longest stretch of [start, end] not covered by `busy` intervals."""
        cursor, longest = start, 0.0
        for s, e in sorted(busy):
            if e <= cursor:
                continue
            if s > cursor:
                longest = max(longest, min(s, end) - cursor)
            cursor = max(cursor, e)
            if cursor >= end:
                break
        return max(longest, end - cursor)

    def check_waiting(self):
        held = {name: self.held(name) for name in self.names}
        excluded = {i: self.excluded(i) for i in range(len(self.c.ports))}
        stalls, worst_wait = [], None
        for w in self.waits:
            if w["status"] not in (200, 201, 409):
                continue
            # A waiter's own grant ends its wait: count up to the answer.
            busy = held[w["name"]] + excluded[w["instance"]]
            stall = self.longest_gap(w["sent"] + 0.05, w["answered"] - 0.01, busy) if w["answered"] - w["sent"] > 0.06 else 0
            stalls.append(stall)
            if worst_wait is None or stall > worst_wait[0]:
                worst_wait = (stall, w)
        stalls.sort()
        worst = stalls[-1] if stalls else 0
        if worst * 1000 > self.a.max_stall_ms:
            bad = sum(1 for s in stalls if s * 1000 > self.a.max_stall_ms)
            stall, w = worst_wait
            # The faults around the worst one, to say what it waited through.
            nearby = [f"{f['kind']}({f['target']}) {f['start'] - w['sent']:+.2f}..{f['end'] - w['sent']:+.2f}s"
                      for f in self.faults if f["start"] < w["answered"] + 1 and f["end"] > w["sent"] - 3]
            self.problems.append(f"{bad} waiting acquires saw their name free for more than {self.a.max_stall_ms} ms "
                                 f"(worst {stall * 1000:.0f} ms: instance {w['instance']}, waited {w['answered'] - w['sent']:.2f} s "
                                 f"for {w['status']}; faults around it: {nearby})")
        return stalls

    def check_leftovers(self):
        keys = [k for k in self.c.redis_call("--scan", "--pattern", f"lockd:{{{self.prefix}*").split() if not k.endswith(":fence")]
        if keys:
            self.problems.append(f"left behind in Redis: {keys[:5]}")
        return keys

    async def run(self):
        clients = [asyncio.create_task(self.client(i)) for i in range(self.a.clients)]
        faults = asyncio.create_task(self.inject())
        await asyncio.sleep(self.a.duration)
        self.running = False
        await faults
        await asyncio.gather(*clients)
        # Queues of waiters that died with their lockd expire with the wait.
        await asyncio.sleep((self.a.wait_ms + 2000) / 1000 + 1)


def percentile(values, p):
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--lockd", default=None, help="lockd binary (default: .build/release/lockd, else .build/debug/lockd)")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--names", type=int, default=4)
    ap.add_argument("--wait-ms", type=int, default=2000)
    ap.add_argument("--ttl-ms", type=int, default=1000)
    ap.add_argument("--hold-ms", type=int, default=50)
    ap.add_argument("--fault-gap-s", type=float, default=1.5, help="pause between faults (this to twice this)")
    ap.add_argument("--max-stall-ms", type=int, default=1000)
    ap.add_argument("--max-recovery-ms", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--json", help="also write the summary here")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lockd = a.lockd or next((p for p in (os.path.join(root, ".build/release/lockd"), os.path.join(root, ".build/debug/lockd"))
                             if os.path.exists(p)), None)
    if not lockd:
        raise SystemExit("soak: no lockd binary; build it (swift build --product lockd) or pass --lockd")

    tmp = tempfile.mkdtemp(prefix="lockd-soak-")
    cluster = Cluster(lockd, a.instances, tmp)
    soak = Soak(a, cluster)
    try:
        cluster.start_redis()
        for i in range(a.instances):
            cluster.start_lockd(i)
        time.sleep(1.0)
        asyncio.run(soak.run())
        soak.check_fences()
        stalls = soak.check_waiting()
        leftovers = soak.check_leftovers()
    finally:
        cluster.stop_all()
    recoveries = sorted(f["recovered"] for f in soak.faults if f["recovered"] is not None)
    by_kind = {}
    for f in soak.faults:
        by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
    summary = {
        "seed": a.seed, "duration_s": a.duration, "instances": a.instances, "clients": a.clients, "names": a.names,
        "lockd": lockd, "faults": by_kind, "statuses": {str(k): v for k, v in sorted(soak.statuses.items())},
        "grants": len(soak.grants), "unknown_outcomes": len(soak.unknown),
        "recovery_ms": {"p50": round(percentile(recoveries, 0.5) * 1000), "max": round(max(recoveries, default=0) * 1000)},
        "free_while_waiting_ms": {"p50": round(percentile(stalls, 0.5) * 1000), "p99": round(percentile(stalls, 0.99) * 1000),
                                  "max": round(max(stalls, default=0) * 1000), "waits": len(stalls)},
        "leftover_keys": len(leftovers), "problems": soak.problems[:20], "ok": not soak.problems,
        "load": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(summary, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f)
    if soak.problems:
        print(f"soak: FAILED ({len(soak.problems)} problems); logs in {tmp}", file=sys.stderr)
        sys.exit(1)
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
