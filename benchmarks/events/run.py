#!/usr/bin/env python3
"""Issue 17's event-stream figures, in one run on one Redis:

- the acquire→release cycle (`lockbench`) with no event streams open, with
  STREAMS idle streams (on a prefix nothing uses) open on the lockd it runs
  against, and with one of them swapped for a watcher of the cycle's names
  (so every acquire and release is published and delivered; lockbench's
  `--event-streams 1` reads it and reports the delivery latency under load).
  Rounds alternate the order (without first, then idle first), and a run
  without streams waits until GHOST_S seconds after the last stream closed:
  lockd keeps a closed stream's watch that long for a reader that
  reconnects, so sooner would not be "no streams";
- lockd's memory per idle stream: its RSS (/proc/PID/status) with the
  streams open minus without, divided by their number (the first round's:
  later rounds reuse what the allocator kept from it);
- event delivery: a watcher on lockd A, acquires through lockd B (the other
  instance, so each event crosses Redis pub/sub) and through A itself; the
  time from sending the acquire to the `acquired` event arriving, an upper
  bound on the time from the Redis-side change.

    benchmarks/events/run.py                # builds release lockd and lockbench
    SKIP_BUILD=1 benchmarks/events/run.py   # uses .build/release as it is

Starts its own redis-server (no persistence) and two release lockd on free
loopback ports, and stops only what it started, by PID. Writes
benchmarks/events/results.json and prints a summary; RESULTS.md beside it
keeps the figures and their reading.

Environment (all optional): STREAMS=1000 REPEATS=4 DURATION=8 CLIENTS=32
EVENTS=300 (acquires timed per path) GHOST_S=31.
"""
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
REPEATS = int(os.environ.get("REPEATS", "4"))
DURATION = int(os.environ.get("DURATION", "8"))
CLIENTS = int(os.environ.get("CLIENTS", "32"))
EVENTS = int(os.environ.get("EVENTS", "300"))
GHOST_S = float(os.environ.get("GHOST_S", "31"))

started = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command, log):
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started.append(process)
    return process


def stop_started():
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def cpu_seconds(pid):
    """utime + stime of PID (/proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


LOCKD_PID = [0]


def lockbench(port, prefix, more=()):
    """lockbench's summary, plus lockd's CPU time per cycle (µs) as `lockd_us_per_cycle`:
    a figure other processes' load moves far less than the rate."""
    cpu_before = cpu_seconds(LOCKD_PID[0]) if LOCKD_PID[0] else 0
    out = subprocess.run(
        [os.path.join(BIN, "lockbench"), "--url", f"http://127.0.0.1:{port}", "--duration", str(DURATION),
         "--clients", str(CLIENTS), "--prefix", prefix, "--json", *more],
        capture_output=True, text=True, timeout=DURATION + 60)
    if out.returncode != 0:
        raise SystemExit(f"events/run.py: lockbench failed: {out.stderr[-2000:]}")
    summary = json.loads(out.stdout)
    if LOCKD_PID[0] and summary["cycles"]:
        summary["lockd_us_per_cycle"] = (cpu_seconds(LOCKD_PID[0]) - cpu_before) * 1e6 / summary["cycles"]
    return summary


last_close = [0.0]


def without_streams(port, prefix):
    """lockbench's summary once no stream (nor a lingering watch of one) is left."""
    wait = last_close[0] + GHOST_S - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    return lockbench(port, prefix)


def cycle_rounds(port, pid):
    """Per round: the cycle rate with no streams, with STREAMS idle streams, and with
    STREAMS - 1 idle streams plus one watching the cycle's names; the RSS per idle stream.
    Even rounds measure without streams first, odd rounds last."""
    rounds = []
    LOCKD_PID[0] = pid
    for round_number in range(REPEATS):
        without_first = round_number % 2 == 0
        if without_first:
            without_run = without_streams(port, f"evc{round_number}a")
        before = rss_kib(pid)
        streams = [open_stream(port, f"nobody-watches-{round_number}:") for _ in range(STREAMS)]
        time.sleep(1)  # let lockd settle its per-stream state before reading RSS
        after = rss_kib(pid)
        idle_run = lockbench(port, f"evc{round_number}b")
        idle = idle_run["cycles_per_second"]
        # One stream swapped for a watcher of the cycle's names: every acquire and release
        # is published and delivered; lockbench reads it and times the deliveries.
        streams.pop().close()
        watched_run = lockbench(port, f"evc{round_number}c", ["--event-streams", "1"])
        watched = watched_run["cycles_per_second"]
        events = watched_run.get("events") or {}
        watcher_alive = events.get("ended", 1) == 0
        still_open = sum(1 for s in streams if is_open(s))
        for s in streams:
            s.close()
        last_close[0] = time.monotonic()
        if not without_first:
            without_run = without_streams(port, f"evc{round_number}a")
        without = without_run["cycles_per_second"]
        cpu_ratio = idle_run["lockd_us_per_cycle"] / without_run["lockd_us_per_cycle"]
        latency = events.get("latency_ms", {})
        rounds.append({"without": without, "idle": idle, "watched": watched, "without_first": without_first,
                       "idle_ratio": idle / without, "watched_ratio": watched / without,
                       "lockd_us_per_cycle_without": without_run["lockd_us_per_cycle"],
                       "lockd_us_per_cycle_idle": idle_run["lockd_us_per_cycle"], "idle_cpu_per_cycle_ratio": cpu_ratio,
                       "rss_per_stream_bytes": (after - before) * 1024 / STREAMS,
                       "idle_streams_open_after": still_open, "watcher_kept": watcher_alive,
                       "watcher_events": events.get("events", 0),
                       "watcher_delivery_p50_ms": latency.get("p50"), "watcher_delivery_p99_ms": latency.get("p99")})
        print(f"round {round_number + 1} ({'without first' if without_first else 'without last'}): "
              f"{without:.0f} cycles/s without streams, {idle:.0f} with {STREAMS} idle "
              f"({idle / without:.2f}; lockd CPU per cycle {without_run['lockd_us_per_cycle']:.0f} → "
              f"{idle_run['lockd_us_per_cycle']:.0f} µs, {cpu_ratio:.2f}×), {watched:.0f} with one of them watching the cycle ({watched / without:.2f}; "
              f"{events.get('events', 0)} events, at→read p50 {latency.get('p50', 0):.1f} ms p99 {latency.get('p99', 0):.1f} ms); "
              f"{(after - before) * 1024 / STREAMS:.0f} B RSS per idle stream; {still_open} idle streams still open, "
              f"watcher {'kept' if watcher_alive else 'CUT OFF'}; load {os.getloadavg()[0]:.2f}", flush=True)
    return rounds


def is_open(s):
    try:
        data = s.recv(65536, socket.MSG_PEEK)
        return data != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def delivery(watch_port, acquire_port, label):
    """Sends EVENTS acquires (each then released) one at a time; milliseconds until each `acquired` event."""
    prefix = f"lat-{label}-{os.getpid()}:"
    stream = open_stream(watch_port, prefix)
    stream.setblocking(True)
    stream.settimeout(5)
    buffer = b""
    latencies = []
    for index in range(EVENTS):
        name = f"{prefix}{index}"
        sent = time.monotonic()
        status, body = request(acquire_port, "POST", f"/locks/{name}", '{"ttl_ms":10000}')
        if status != 201:
            raise SystemExit(f"events/run.py: acquire answered {status}: {body[:200]!r}")
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
        request(acquire_port, "DELETE", f"/locks/{name}", headers={"Lock-Token": token})
    stream.close()
    latencies.sort()
    def pick(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    result = {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": latencies[-1], "events": len(latencies)}
    print(f"delivery {label}: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, max {result['max_ms']:.2f} ms "
          f"over {len(latencies)} events", flush=True)
    return result


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
    tmp = tempfile.mkdtemp(prefix="lockd-eventsbench.")
    log = open(os.path.join(tmp, "processes.log"), "wb")
    try:
        redis_port = free_port()
        start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", tmp], log)
        wait_until("redis-server", lambda: subprocess.run(["redis-cli", "-p", str(redis_port), "ping"],
                                                          capture_output=True).returncode == 0)
        ports = [free_port(), free_port()]
        lockds = [start([os.path.join(BIN, "lockd"), "--listen", f"127.0.0.1:{port}", "--log-level", "warning",
                         "--redis", f"redis://127.0.0.1:{redis_port}"], log) for port in ports]
        for port in ports:
            wait_until(f"lockd on {port}", lambda port=port: request(port, "GET", "/readyz")[0] == 200)
        load_start = os.getloadavg()
        print(f"load at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}", flush=True)
        rounds = cycle_rounds(ports[0], lockds[0].pid)
        same = delivery(ports[0], ports[0], "same-instance")
        cross = delivery(ports[0], ports[1], "cross-instance")
        load_end = os.getloadavg()
        ratios = [r["idle_ratio"] for r in rounds]
        cpu_ratios = [r["idle_cpu_per_cycle_ratio"] for r in rounds]
        watched_ratios = [r["watched_ratio"] for r in rounds]
        per_stream = [r["rss_per_stream_bytes"] for r in rounds]
        summary = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "streams": STREAMS, "repeats": REPEATS, "duration_s": DURATION, "clients": CLIENTS,
            "load_start": load_start, "load_end": load_end, "rounds": rounds,
            "idle_cycle_ratio_median": statistics.median(ratios),
            "idle_cpu_per_cycle_ratio_median": statistics.median(cpu_ratios),
            "watched_cycle_ratio_median": statistics.median(watched_ratios),
            # Later rounds reuse memory the allocator kept from the first
            # round's streams, so only the first round's growth is the cost.
            "rss_per_stream_bytes": per_stream[0],
            "delivery_same_instance": same, "delivery_cross_instance": cross,
        }
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        print(f"cycle rate with {STREAMS} idle streams / without: median {statistics.median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}; goal >= 0.90)")
        print(f"lockd CPU per cycle with {STREAMS} idle streams / without: median {statistics.median(cpu_ratios):.2f} "
              f"(range {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}; <= 1.11 is the same goal)")
        print(f"cycle rate with one of them watching the cycle / without: median {statistics.median(watched_ratios):.2f} "
              f"(range {min(watched_ratios):.2f}-{max(watched_ratios):.2f})")
        print(f"lockd RSS per idle stream: {per_stream[0]:.0f} B in the first round (goal <= 8192; later rounds "
              f"reuse freed memory: {', '.join(f'{b:.0f}' for b in per_stream[1:]) or 'none'})")
        print(f"delivery p99: {same['p99_ms']:.2f} ms same instance, {cross['p99_ms']:.2f} ms across instances (goal < 5 ms)")
        print(f"load at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    finally:
        stop_started()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
