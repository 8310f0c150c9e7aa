#!/usr/bin/env python3
"""What keeping 10 000 waiters queued costs Redis, and the contended hand-off
rate, for two lockd builds in the same run.

    python3 benchmarks/waiters/upkeep.py --baseline OLD/lockd --lockd NEW/lockd --lockbench .build/release/lockbench \\
        [--repeats 3] [--window 20] [--waiters 10000] [--names 1,100,10000] [--handoff-seconds 10] [--out DIR]

Starts its own redis-server (no persistence). For each repeat, scenario and
build (the builds alternate), it starts lockd, takes `names` locks, opens
`waiters` waiting acquires spread over them (wait_ms 60000), waits until
lockd reports them all waiting, and then measures over `window` seconds,
during which nothing else happens: Redis's CPU time (INFO cpu), its time
inside scripts and the number of script calls (INFO commandstats), the
bytes lockd sent it, and lockd's own count of store round trips for waiter
upkeep (`lockd_store_call_duration_seconds_count`: `heartbeat` before,
`beat` + `reconcile` now). Then, per repeat and build, lockbench drives the
contended case (64 clients, 4 names, wait_ms 5000) and reports hand-offs/s.

Writes results.jsonl and prints a Markdown table. Loopback only; stops only
what it started.
"""
import argparse, asyncio, json, os, re, resource, signal, socket, subprocess, sys, tempfile, time

UPKEEP_OPERATIONS = ("heartbeat", "beat", "reconcile")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_info(port, section):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", section], capture_output=True, text=True, timeout=10).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line and not line.startswith("#"))


def redis_snapshot(port):
    cpu = redis_info(port, "cpu")
    stats = redis_info(port, "stats")
    commands = redis_info(port, "commandstats")
    scripts = {"calls": 0, "usec": 0}
    for name in ("cmdstat_evalsha", "cmdstat_eval"):
        if name in commands:
            fields = dict(part.split("=") for part in commands[name].split(","))
            scripts["calls"] += int(fields["calls"])
            scripts["usec"] += int(fields["usec"])
    return {"cpu": float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]), "scripts": scripts,
            "commands": int(stats["total_commands_processed"]), "in_bytes": int(stats["total_net_input_bytes"]),
            "time": time.monotonic()}


async def http(port, method, path, body=b"", headers=None, timeout=30):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    data = await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[1]


async def metrics(port):
    _, body = await http(port, "GET", "/metrics")
    text = body.decode()
    waiters = re.search(r"^lockd_waiters (\S+)", text, re.M)
    calls = {}
    for op in UPKEEP_OPERATIONS:
        m = re.search(r'^lockd_store_call_duration_seconds_count\{[^}]*operation="%s"[^}]*\} (\S+)' % op, text, re.M)
        calls[op] = float(m.group(1)) if m else 0.0
    return (float(waiters.group(1)) if waiters else 0.0), calls


def start_lockd(binary, redis_port, tmp, label):
    port = free_port()
    log = open(os.path.join(tmp, f"{label}.log"), "ab")
    proc = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--redis", f"redis://127.0.0.1:{redis_port}",
                             "--log-level", "warning", "--max-wait-ms", "120000"], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(http(port, "GET", "/readyz", timeout=2))
            if status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"upkeep: {binary} did not become ready")


def stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


async def measure_upkeep(port, redis_port, names, waiters, window, prefix):
    # Redis's CPU with this lockd connected and nobody waiting: the floor.
    idle_before = redis_snapshot(redis_port)
    await asyncio.sleep(5)
    idle_after = redis_snapshot(redis_port)
    idle = (idle_after["cpu"] - idle_before["cpu"]) * 1000 / (idle_after["time"] - idle_before["time"])
    for i in range(names):
        for _ in range(50):  # a 503 on a loaded machine is tried again
            status, body = await http(port, "POST", f"/locks/{prefix}:{i}", b'{"ttl_ms":600000}')
            if status != 503:
                break
            await asyncio.sleep(0.1)
        assert status == 201, (status, body)
    body = b'{"ttl_ms":60000,"wait_ms":110000}'
    writers = []

    async def wait(w):
        # Holds one waiting acquire open; one answered early (a 503 while
        # 10 000 acquires arrive at once on a loaded machine) is sent again.
        while True:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writers.append(writer)
            writer.write(f"POST /locks/{prefix}:{w % names} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            await reader.read(1)
            writer.transport.abort()
            await asyncio.sleep(0.5)

    tasks = []
    for start in range(0, waiters, 500):
        tasks += [asyncio.create_task(wait(w)) for w in range(start, min(start + 500, waiters))]
        # Paced, so that lockd's Redis commands stay within their deadline.
        deadline = time.monotonic() + 30
        while (await metrics(port))[0] < len(tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    deadline = time.monotonic() + 60
    while (await metrics(port))[0] < waiters:
        if time.monotonic() > deadline:
            raise SystemExit("upkeep: the waiters never all waited")
        await asyncio.sleep(0.2)
    await asyncio.sleep(3)  # the first beat's full reconcile, if any, is not the steady state
    before_redis, (_, before_calls) = redis_snapshot(redis_port), await metrics(port)
    await asyncio.sleep(window)
    after_redis, (count, after_calls) = redis_snapshot(redis_port), await metrics(port)
    seconds = after_redis["time"] - before_redis["time"]
    for task in tasks:
        task.cancel()
    for writer in writers:
        writer.transport.abort()
    return {
        "waiting": count,
        "idle_redis_cpu_ms_per_s": idle,
        "redis_cpu_ms_per_s": (after_redis["cpu"] - before_redis["cpu"]) * 1000 / seconds,
        "script_ms_per_s": (after_redis["scripts"]["usec"] - before_redis["scripts"]["usec"]) / 1000 / seconds,
        "script_calls_per_s": (after_redis["scripts"]["calls"] - before_redis["scripts"]["calls"]) / seconds,
        "redis_in_kib_per_s": (after_redis["in_bytes"] - before_redis["in_bytes"]) / 1024 / seconds,
        "round_trips_per_s": sum(after_calls[op] - before_calls[op] for op in UPKEEP_OPERATIONS) / seconds,
    }


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handoffs(lockbench, proc, port, redis_port, seconds, prefix):
    """Hand-offs per second, and lockd's and Redis's CPU per hand-off in µs
    (which a busy machine disturbs less than the rate)."""
    lockd_before, redis_before = cpu_seconds(proc.pid), redis_snapshot(redis_port)["cpu"]
    out = subprocess.run([lockbench, "--url", f"http://127.0.0.1:{port}", "--duration", str(seconds), "--json",
                          "--clients", "64", "--names", "4", "--wait-ms", "5000", "--prefix", prefix],
                         capture_output=True, text=True, timeout=seconds + 120).stdout
    lockd_cpu, redis_cpu = cpu_seconds(proc.pid) - lockd_before, redis_snapshot(redis_port)["cpu"] - redis_before
    handoff = json.loads(out)["handoff"]
    count = max(1, handoff["handoffs"])
    return {"handoffs_per_s": handoff["per_second"], "lockd_us_per_handoff": lockd_cpu * 1e6 / count,
            "redis_us_per_handoff": redis_cpu * 1e6 / count}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="lockd built from main")
    ap.add_argument("--lockd", required=True, help="lockd built from this tree")
    ap.add_argument("--lockbench", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--waiters", type=int, default=10000)
    ap.add_argument("--names", default="1,100,10000", help="scenarios: names the waiters spread over (empty: hand-offs only)")
    ap.add_argument("--handoff-seconds", type=int, default=10)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # lockd inherits it too
    tmp = tempfile.mkdtemp(prefix="lockd-upkeep-")
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", tmp, "--logfile", os.path.join(tmp, "redis.log")])
    builds = {"main": a.baseline, "this": a.lockd}
    rows = []
    try:
        time.sleep(0.5)
        for repeat in range(a.repeats):
            order = list(builds.items()) if repeat % 2 == 0 else list(reversed(builds.items()))
            for names in [int(n) for n in a.names.split(",") if n]:
                for label, binary in order:
                    proc, port = start_lockd(binary, redis_port, tmp, label)
                    try:
                        row = asyncio.run(measure_upkeep(port, redis_port, names, a.waiters, a.window, f"up{repeat}{label}{names}"))
                    finally:
                        stop(proc)
                    subprocess.run(["redis-cli", "-p", str(redis_port), "FLUSHALL"], capture_output=True)
                    row.update(build=label, repeat=repeat, names=names, waiters=a.waiters, load=open("/proc/loadavg").read().split()[:3])
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
            # A-B-B-A, so that a load change during the pair affects both.
            for label, binary in order + order[::-1]:
                proc, port = start_lockd(binary, redis_port, tmp, label)
                try:
                    row = handoffs(a.lockbench, proc, port, redis_port, a.handoff_seconds, f"h{repeat}{label}")
                finally:
                    stop(proc)
                subprocess.run(["redis-cli", "-p", str(redis_port), "FLUSHALL"], capture_output=True)
                row.update(build=label, repeat=repeat, load=open("/proc/loadavg").read().split()[:3])
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    finally:
        stop(redis)
    with open(os.path.join(a.out, "results.jsonl"), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    report(rows)
    subprocess.run(["rm", "-rf", tmp])


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else 0


def report(rows):
    print("| names | build | Redis CPU ms/s (idle) | in scripts ms/s | script calls/s | upkeep round trips/s | to Redis KiB/s | still waiting at the end (least) |")
    print("|---|---|---|---|---|---|---|---|")
    for names in sorted({r["names"] for r in rows if "names" in r}):
        for build in ("main", "this"):
            sel = [r for r in rows if r.get("names") == names and r["build"] == build]
            print(f"| {names} | {build} | {median([r['redis_cpu_ms_per_s'] for r in sel]):.1f} ({median([r['idle_redis_cpu_ms_per_s'] for r in sel]):.1f}) | {median([r['script_ms_per_s'] for r in sel]):.2f} | "
                  f"{median([r['script_calls_per_s'] for r in sel]):.1f} | {median([r['round_trips_per_s'] for r in sel]):.2f} | "
                  f"{median([r['redis_in_kib_per_s'] for r in sel]):.1f} | {min(r['waiting'] for r in sel):.0f} |")
    ratios = []
    for repeat in sorted({r["repeat"] for r in rows if "handoffs_per_s" in r}):
        by = {}
        for r in rows:
            if r.get("repeat") == repeat and "handoffs_per_s" in r:
                by.setdefault(r["build"], []).append(r["handoffs_per_s"])
        if by.get("main") and by.get("this"):
            main, this = sum(by["main"]) / len(by["main"]), sum(by["this"]) / len(by["this"])
            ratios.append(this / main)
            print(f"hand-offs/s, repeat {repeat}: main {main:.0f}, this {this:.0f} ({this / main:.2f})")
    print(f"hand-off ratio this/main: median {median(ratios):.2f}, range {min(ratios, default=0):.2f}–{max(ratios, default=0):.2f}")
    for build in ("main", "this"):
        sel = [r for r in rows if r["build"] == build and "handoffs_per_s" in r]
        if sel:
            print(f"CPU per hand-off, {build}: lockd {median([r['lockd_us_per_handoff'] for r in sel]):.0f} µs, "
                  f"Redis {median([r['redis_us_per_handoff'] for r in sel]):.0f} µs (medians)")


if __name__ == "__main__":
    main()
