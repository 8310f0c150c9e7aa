#!/usr/bin/env python3
"""Issue 17's event-stream figures, in one run on one Redis:

- the acquire→release cycle (`lockbench`) on a lockd with no event streams
  open against one with STREAMS idle streams open (on a prefix nothing
  uses), and — on the same lockd, right after — with one of them swapped
  for a watcher of the cycle's names (so every acquire and release is
  published and delivered; lockbench's `--event-streams 1` reads it and
  reports the delivery latency under load). Every measurement gets a fresh
  lockd (warmed by a short cycle first), so no run inherits another's heap,
  connections or lingering watches; the order of the two arms alternates
  from round to round; each run records lockd's CPU time per cycle beside
  the rate (the machine's other load moves it far less) and the load;
- lockd's memory per idle stream: its RSS (/proc/PID/status) with the
  streams open minus just before, divided by their number;
- event delivery: a watcher on lockd A, acquires through lockd B (the other
  instance, so each event crosses Redis pub/sub) and through A itself, from
  one keep-alive connection; the time from sending the acquire to the
  `acquired` event arriving, an upper bound on the time from the Redis-side
  change (which lies between the send and the answer: the time from the
  answer to the event is printed too).

    benchmarks/events/run.py                # builds release lockd and lockbench
    SKIP_BUILD=1 benchmarks/events/run.py   # uses .build/release as it is
    VARIANTS="main=/tmp/main/lockd after=.build/release/lockd" SKIP_BUILD=1 benchmarks/events/run.py
    VARIANT_ENV_tuned="MALLOC_ARENA_MAX=2" VARIANTS="plain=… tuned=…" …

VARIANTS (label=binary, space-separated) measures several lockd binaries —
or one binary under several environments (VARIANT_ENV_<label>, K=V
separated by commas) — in the same interleaved rounds, so a before/after
comparison shares the machine's load.

Starts its own redis-server (no persistence) and release lockd processes
on free loopback ports, and stops only what it started, by PID. Writes
benchmarks/events/results.json and prints a summary; RESULTS.md beside it
keeps the figures and their reading.

Environment (all optional): STREAMS=1000 REPEATS=6 DURATION=6 WARMUP=1
CLIENTS=32 EVENTS=400 (acquires timed per path) GRACE_S=7 VARIANTS.
"""
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "benchmarks", "events")
BIN = os.path.join(ROOT, ".build", "release")
STREAMS = int(os.environ.get("STREAMS", "1000"))
REPEATS = int(os.environ.get("REPEATS", "6"))
DURATION = int(os.environ.get("DURATION", "6"))
WARMUP = int(os.environ.get("WARMUP", "1"))
CLIENTS = int(os.environ.get("CLIENTS", "32"))
EVENTS = int(os.environ.get("EVENTS", "400"))
# RedisEventChannel.graceInterval (6 s) and a margin.
GRACE_S = float(os.environ.get("GRACE_S", "7"))

started = []
LOG = [None]
REDIS_PORT = [0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# lockd runs with the image's allocator setting (Dockerfile, deploy/README.md)
# unless a variant's environment says otherwise.
LOCKD_ENV = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=64"}


def start(command, env=None):
    process = subprocess.Popen(command, stdout=LOG[0], stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, **(env or {})})
    started.append(process)
    return process


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    started.remove(process)


def stop_started():
    for process in list(started):
        stop(process)


def request(port, method, path, body=None, headers=None, timeout=5):
    """One request on a new connection; returns (status, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        data = body.encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: lockd\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        s.sendall(head.encode() + b"\r\n" + data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in reply else b""


def wait_until(what, condition, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"events/run.py: timed out waiting for {what}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("events/run.py: no VmRSS")


def cpu_seconds(pid):
    """utime + stime of PID (/proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Lockd:
    """A fresh release lockd on the run's Redis; stopped by `close()`."""

    def __init__(self, binary, env):
        self.port = free_port()
        self.process = start([binary, "--listen", f"127.0.0.1:{self.port}", "--log-level", "warning",
                              "--redis", f"redis://127.0.0.1:{REDIS_PORT[0]}"], {**LOCKD_ENV, **env})
        self.started = time.monotonic()
        wait_until(f"lockd on {self.port}", lambda: request(self.port, "GET", "/readyz")[0] == 200)

    def settled(self):
        """Waits until lockd is past its first GRACE_S: a lockd that has just
        started publishes every event for a while (it may have missed other
        instances' announcements of what they watch), so a run before then
        would count the event traffic of names nobody watches."""
        time.sleep(max(0.0, self.started + GRACE_S - time.monotonic()))

    @property
    def pid(self):
        return self.process.pid

    def close(self):
        stop(self.process)


def lockbench(lockd, prefix, duration=DURATION, more=()):
    """lockbench's summary, plus lockd's CPU time per cycle (µs) as `lockd_us_per_cycle`
    and the 1-minute load average when it ended."""
    cpu_before = cpu_seconds(lockd.pid)
    out = subprocess.run(
        [os.path.join(BIN, "lockbench"), "--url", f"http://127.0.0.1:{lockd.port}", "--duration", str(duration),
         "--clients", str(CLIENTS), "--prefix", prefix, "--json", *more],
        capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        raise SystemExit(f"events/run.py: lockbench failed: {out.stderr[-2000:]}")
    summary = json.loads(out.stdout)
    summary["lockd_us_per_cycle"] = (cpu_seconds(lockd.pid) - cpu_before) * 1e6 / max(1, summary["cycles"])
    summary["load"] = os.getloadavg()[0]
    return summary


def open_stream(port, prefix):
    """A connected socket whose GET /events has been answered with its head."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /events?prefix={prefix} HTTP/1.1\r\nHost: lockd\r\nAccept: text/event-stream\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("events/run.py: a stream was closed before its head")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"events/run.py: GET /events answered {head[:200]!r}")
    s.setblocking(False)
    return s


def is_open(s):
    try:
        data = s.recv(65536, socket.MSG_PEEK)
        return data != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def without_streams(binary, env, tag):
    """The cycle on a fresh lockd with no stream ever opened."""
    lockd = Lockd(binary, env)
    try:
        lockbench(lockd, f"{tag}w", WARMUP)
        lockd.settled()
        return lockbench(lockd, f"{tag}a")
    finally:
        lockd.close()


def with_streams(binary, env, tag):
    """The cycle on a fresh lockd with STREAMS idle streams, then with one of
    them swapped for a watcher of the cycle's names; and the RSS per stream."""
    lockd = Lockd(binary, env)
    try:
        lockbench(lockd, f"{tag}w", WARMUP)
        before = rss_kib(lockd.pid)
        streams = [open_stream(lockd.port, f"nobody-watches-{tag}:") for _ in range(STREAMS)]
        time.sleep(1)  # let lockd settle its per-stream state before reading RSS
        after = rss_kib(lockd.pid)
        lockd.settled()
        idle = lockbench(lockd, f"{tag}b")
        streams.pop().close()
        watched = lockbench(lockd, f"{tag}c", more=["--event-streams", "1"])
        still_open = sum(1 for s in streams if is_open(s))
        for s in streams:
            s.close()
        return idle, watched, (after - before) * 1024 / STREAMS, still_open
    finally:
        lockd.close()


def cycle_rounds(variants):
    """REPEATS rounds; in each, every variant's pair (no streams, idle streams)
    on fresh processes, variants and arms in an order that alternates."""
    rounds = {label: [] for label, _, _ in variants}
    for round_number in range(REPEATS):
        order = variants if round_number % 2 == 0 else variants[::-1]
        for label, binary, env in order:
            tag = f"r{round_number}{label}"
            without_first = (round_number // 2) % 2 == 0
            if without_first:
                without = without_streams(binary, env, tag)
            idle, watched, rss_per_stream, still_open = with_streams(binary, env, tag)
            if not without_first:
                without = without_streams(binary, env, tag)
            events = watched.get("events") or {}
            latency = events.get("latency_ms", {})
            r = {
                "without": without["cycles_per_second"], "idle": idle["cycles_per_second"],
                "watched": watched["cycles_per_second"], "without_first": without_first,
                "idle_ratio": idle["cycles_per_second"] / without["cycles_per_second"],
                "watched_ratio": watched["cycles_per_second"] / without["cycles_per_second"],
                "lockd_us_per_cycle_without": without["lockd_us_per_cycle"],
                "lockd_us_per_cycle_idle": idle["lockd_us_per_cycle"],
                "idle_cpu_per_cycle_ratio": idle["lockd_us_per_cycle"] / without["lockd_us_per_cycle"],
                "load_without": without["load"], "load_idle": idle["load"],
                "rss_per_stream_bytes": rss_per_stream, "idle_streams_open_after": still_open,
                "watcher_kept": events.get("ended", 1) == 0, "watcher_events": events.get("events", 0),
                "watcher_delivery_p50_ms": latency.get("p50"), "watcher_delivery_p99_ms": latency.get("p99"),
            }
            rounds[label].append(r)
            print(f"round {round_number + 1} {label} ({'without first' if without_first else 'without last'}): "
                  f"{r['without']:.0f} cycles/s without streams, {r['idle']:.0f} with {STREAMS} idle ({r['idle_ratio']:.2f}; "
                  f"lockd CPU per cycle {r['lockd_us_per_cycle_without']:.1f} → {r['lockd_us_per_cycle_idle']:.1f} µs, "
                  f"{r['idle_cpu_per_cycle_ratio']:.2f}×), {r['watched']:.0f} with one watching the cycle "
                  f"({r['watched_ratio']:.2f}; {r['watcher_events']} events, at→read p50 {latency.get('p50', 0):.1f} ms "
                  f"p99 {latency.get('p99', 0):.1f} ms, watcher {'kept' if r['watcher_kept'] else 'CUT OFF'}); "
                  f"{rss_per_stream:.0f} B RSS per idle stream, {still_open} still open; "
                  f"load {r['load_without']:.1f}/{r['load_idle']:.1f}", flush=True)
    return rounds


def delivery(watch_port, acquire_port, label):
    """Sends EVENTS acquires (each then released) one at a time over one keep-alive
    connection; milliseconds from each send (and from its answer) to its `acquired` event."""
    prefix = f"lat-{label}-{os.getpid()}-{watch_port}:"
    stream = open_stream(watch_port, prefix)
    stream.setblocking(True)
    stream.settimeout(5)
    connection = http.client.HTTPConnection("127.0.0.1", acquire_port, timeout=5)
    buffer = b""
    latencies = []
    after_answer = []
    for index in range(EVENTS):
        name = f"{prefix}{index}"
        sent = time.monotonic()
        connection.request("POST", f"/locks/{name}", body=b'{"ttl_ms":10000}')
        reply = connection.getresponse()
        body = reply.read()
        answered = time.monotonic()
        if reply.status != 201:
            raise SystemExit(f"events/run.py: acquire answered {reply.status}: {body[:200]!r}")
        token = json.loads(body)["token"]
        arrived = None
        while arrived is None:
            while b"\n\n" not in buffer:
                chunk = stream.recv(65536)
                if not chunk:
                    raise SystemExit("events/run.py: the latency stream closed")
                buffer += chunk
            event, buffer = buffer.split(b"\n\n", 1)
            lines = event.decode().split("\n")
            kind = next((line[6:].strip() for line in lines if line.startswith("event:")), None)
            data = next((line[5:].strip() for line in lines if line.startswith("data:")), None)
            if kind == "acquired" and data and json.loads(data).get("name") == name:
                arrived = time.monotonic()
        latencies.append((arrived - sent) * 1000)
        after_answer.append((arrived - answered) * 1000)
        connection.request("DELETE", f"/locks/{name}", headers={"Lock-Token": token})
        connection.getresponse().read()
    connection.close()
    stream.close()
    latencies.sort()
    after_answer.sort()

    def pick(values, q):
        return values[min(len(values) - 1, int(q * len(values)))]
    result = {"p50_ms": pick(latencies, 0.5), "p99_ms": pick(latencies, 0.99), "max_ms": latencies[-1],
              "after_answer_p50_ms": pick(after_answer, 0.5), "after_answer_p99_ms": pick(after_answer, 0.99),
              "events": len(latencies), "load": os.getloadavg()[0]}
    print(f"delivery {label}: send→event p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
          f"max {result['max_ms']:.2f} ms; answer→event p50 {result['after_answer_p50_ms']:.2f} ms, "
          f"p99 {result['after_answer_p99_ms']:.2f} ms; {len(latencies)} events, load {result['load']:.1f}", flush=True)
    return result


def deliveries(binary, env, label):
    """Same-instance and cross-instance delivery on a fresh pair of lockd."""
    a, b = Lockd(binary, env), Lockd(binary, env)
    try:
        a.settled()
        b.settled()
        return {"same": delivery(a.port, a.port, f"{label}-same"), "cross": delivery(a.port, b.port, f"{label}-cross")}
    finally:
        a.close()
        b.close()


def parse_variants():
    text = os.environ.get("VARIANTS", "").strip()
    if not text:
        return [("lockd", os.path.join(BIN, "lockd"), {})]
    variants = []
    for item in text.split():
        label, _, binary = item.partition("=")
        env = {}
        for pair in filter(None, os.environ.get(f"VARIANT_ENV_{label}", "").split(",")):
            key, _, value = pair.partition("=")
            env[key] = value
        variants.append((label, os.path.abspath(binary), env))
    return variants


def summarize(label, rounds, delivered):
    ratios = [r["idle_ratio"] for r in rounds]
    cpu_ratios = [r["idle_cpu_per_cycle_ratio"] for r in rounds]
    watched_ratios = [r["watched_ratio"] for r in rounds]
    per_stream = [r["rss_per_stream_bytes"] for r in rounds]
    print(f"[{label}] cycle rate with {STREAMS} idle streams / without: median {statistics.median(ratios):.2f} "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}; goal >= 0.90)")
    print(f"[{label}] lockd CPU per cycle with {STREAMS} idle streams / without: median {statistics.median(cpu_ratios):.2f} "
          f"(range {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}; medians {statistics.median(r['lockd_us_per_cycle_without'] for r in rounds):.1f} "
          f"→ {statistics.median(r['lockd_us_per_cycle_idle'] for r in rounds):.1f} µs)")
    print(f"[{label}] cycle rate with one of them watching the cycle / without: median {statistics.median(watched_ratios):.2f} "
          f"(range {min(watched_ratios):.2f}-{max(watched_ratios):.2f})")
    print(f"[{label}] lockd RSS per idle stream: median {statistics.median(per_stream):.0f} B (goal <= 8192)")
    print(f"[{label}] delivery p99: {delivered['same']['p99_ms']:.2f} ms same instance, "
          f"{delivered['cross']['p99_ms']:.2f} ms across instances (goal < 5 ms)")
    return {
        "rounds": rounds,
        "idle_cycle_ratio_median": statistics.median(ratios),
        "idle_cpu_per_cycle_ratio_median": statistics.median(cpu_ratios),
        "watched_cycle_ratio_median": statistics.median(watched_ratios),
        "rss_per_stream_bytes_median": statistics.median(per_stream),
        "delivery_same_instance": delivered["same"], "delivery_cross_instance": delivered["cross"],
    }


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, STREAMS * 2 + 200)
    if want > hard:
        raise SystemExit(f"events/run.py: need {want} descriptors (ulimit -n), the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            raise SystemExit(f"events/run.py: {tool} is missing (apt-get install -y redis-server)")
    if not os.environ.get("SKIP_BUILD"):
        for product in ("lockd", "lockbench"):
            subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True)
    variants = parse_variants()
    tmp = tempfile.mkdtemp(prefix="lockd-eventsbench.")
    LOG[0] = open(os.path.join(tmp, "processes.log"), "wb")
    try:
        REDIS_PORT[0] = free_port()
        start(["redis-server", "--port", str(REDIS_PORT[0]), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", tmp])
        wait_until("redis-server", lambda: subprocess.run(["redis-cli", "-p", str(REDIS_PORT[0]), "ping"],
                                                          capture_output=True).returncode == 0)
        load_start = os.getloadavg()
        print(f"load at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}; variants: "
              + ", ".join(f"{label}={binary}{' ' + str(env) if env else ''}" for label, binary, env in variants), flush=True)
        rounds = cycle_rounds(variants)
        delivered = {}
        for label, binary, env in variants + variants[::-1]:
            runs = deliveries(binary, env, label)
            # Each variant is measured twice, in mirrored order; the worse p99 of each path is kept.
            kept = delivered.setdefault(label, runs)
            for path in ("same", "cross"):
                if runs[path]["p99_ms"] > kept[path]["p99_ms"]:
                    kept[path] = runs[path]
        load_end = os.getloadavg()
        summary = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "streams": STREAMS, "repeats": REPEATS, "duration_s": DURATION, "clients": CLIENTS, "events": EVENTS,
            "load_start": load_start, "load_end": load_end,
            "variants": {label: {"binary": binary, "env": env, **summarize(label, rounds[label], delivered[label])}
                         for label, binary, env in variants},
        }
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        print(f"load at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    finally:
        stop_started()
        LOG[0].close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
