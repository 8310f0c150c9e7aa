#!/usr/bin/env python3
"""HTTP benchmark: lockd's server against nginx, Hummingbird and FlyingFox.

Runs `wrk -t2 -c64 -d10s --latency` against each server in one run on this
machine, interleaved over several rounds (medians reported), then holds
10 000 idle keep-alive connections on lockd's server and reads its RSS.
Writes benchmarks/http/RESULTS.md.

    python3 benchmarks/http/run.py [--rounds 3] [--duration 10]

Needs wrk and nginx (apt-get install -y wrk nginx). The Hummingbird and
FlyingFox anchors are built in release mode from a copy of
../shared/anchors/http-anchors in /tmp (about 8 minutes the first time).
"""
import argparse, os, re, resource, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANCHORS = os.environ.get("LOCKD_ANCHORS", os.path.join(os.path.dirname(ROOT), "shared", "anchors"))
ANCHOR_BUILD = "/tmp/http-anchors"
RESULTS = os.path.join(ROOT, "benchmarks", "http", "RESULTS.md")


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build():
    run(["swift", "build", "-c", "release", "--product", "lockd-http-bench"], cwd=ROOT)
    if not os.path.exists(os.path.join(ANCHOR_BUILD, ".build/release/hb-hello")):
        if not os.path.exists(ANCHOR_BUILD):
            shutil.copytree(os.path.join(ANCHORS, "http-anchors"), ANCHOR_BUILD)
            run(["chmod", "-R", "u+w", ANCHOR_BUILD])
        run(["swift", "build", "-c", "release"], cwd=ANCHOR_BUILD)


def wait_port(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def start_servers(prefix):
    os.makedirs(os.path.join(prefix, "logs"))
    os.makedirs(os.path.join(prefix, "tmp"))
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = {
        "nginx": subprocess.Popen(["nginx", "-p", prefix, "-c", os.path.join(ANCHORS, "nginx.conf"), "-g",
                                   f"daemon off; pid {prefix}/nginx.pid; worker_processes 2;"], **quiet),
        "FlyingFox": subprocess.Popen([os.path.join(ANCHOR_BUILD, ".build/release/ff-hello"), "18081", "--nodelay"], **quiet),
        "Hummingbird": subprocess.Popen([os.path.join(ANCHOR_BUILD, ".build/release/hb-hello"), "18082"], **quiet),
        "lockd": subprocess.Popen([os.path.join(ROOT, ".build/release/lockd-http-bench"), "127.0.0.1:18083"], **quiet),
    }
    for port in (18080, 18081, 18082, 18083):
        wait_port(port)
    return procs


def to_us(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]


def wrk(url, duration, script=None):
    cmd = ["wrk", "-t2", "-c64", f"-d{duration}s", "--latency"] + (["-s", script] if script else []) + [url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # Anchored: "+/- Stdev" columns such as "77.50%" must not match.
    p50 = to_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        print(f"  warning: {errors.group(0)}", flush=True)
    return rps, p50, p99


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def idle_connections(pid, port, count):
    """Opens `count` keep-alive connections, one request each, and reads lockd's RSS while they idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 1000)), hard))
    before = rss_kib(pid)
    sockets = []
    request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request)
        sockets.append(s)
    for s in sockets:
        data = b""
        while b"\r\n\r\nok\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("lockd closed a connection during the idle test")
            data += chunk
    time.sleep(2)
    during = rss_kib(pid)
    for s in sockets:
        s.close()
    return before, during


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--idle", type=int, default=10_000)
    args = parser.parse_args()
    build()
    post = os.path.join(ANCHORS, "post.lua")
    targets = [
        ("nginx", "http://127.0.0.1:18080/locks/bench-lock", post),
        ("lockd", "http://127.0.0.1:18083/locks/bench-lock", post),
        ("Hummingbird", "http://127.0.0.1:18082/locks/bench-lock", post),
        ("FlyingFox", "http://127.0.0.1:18081/locks/bench-lock", post),
        ("lockd GET /healthz", "http://127.0.0.1:18083/healthz", None),
    ]
    prefix = tempfile.mkdtemp(prefix="lockd-bench-")
    procs = start_servers(prefix)
    samples = {name: [] for name, _, _ in targets}
    try:
        for name, url, script in targets:
            wrk(url, 2, script)  # warm-up
        for round_index in range(args.rounds):
            for name, url, script in targets:
                result = wrk(url, args.duration, script)
                samples[name].append(result)
                print(f"round {round_index + 1} {name}: {result[0]:.0f} req/s p50 {result[1]:.0f} us p99 {result[2]:.0f} us", flush=True)
        before, during = idle_connections(procs["lockd"].pid, 18083, args.idle)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(prefix, ignore_errors=True)

    median = {name: tuple(statistics.median(s[i] for s in runs) for i in range(3)) for name, runs in samples.items()}
    nginx, hb, lockd = median["nginx"], median["Hummingbird"], median["lockd"]
    lines = [
        "# HTTP server benchmark",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, loopback; "
        f"medians of {args.rounds} interleaved rounds of `wrk -t2 -c64 -d{args.duration}s --latency`.",
        "Every server answers `POST /locks/bench-lock` (wrk's `post.lua` from shared/anchors) with the same ~150-byte JSON;",
        "lockd is `lockd-http-bench` (LockdHTTP with a `Router`, one loop per core), FlyingFox runs with `--nodelay`.",
        "",
        "Rerun: `python3 benchmarks/http/run.py` (options: `--rounds N --duration S --idle N`).",
        "",
        "| server | req/s | p50 | p99 | req/s vs nginx | req/s vs Hummingbird | p99 vs nginx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, _, _ in targets:
        rps, p50, p99 = median[name]
        lines.append(f"| {name} | {rps:,.0f} | {p50:.0f} µs | {p99:.0f} µs | {rps / nginx[0]:.2f}× | {rps / hb[0]:.2f}× | {p99 / nginx[2]:.2f}× |")
    lines += [
        "",
        "Every round:",
        "",
    ]
    for name, runs in samples.items():
        lines.append(f"- {name}: " + ", ".join(f"{r[0]:,.0f} req/s (p99 {r[2]:.0f} µs)" for r in runs))
    lines += [
        "",
        f"## {args.idle:,} idle keep-alive connections",
        "",
        f"Each connection served one `GET /healthz`, then idled. lockd-http-bench's RSS: {before / 1024:.1f} MiB before, "
        f"{during / 1024:.1f} MiB while holding them ({(during - before) * 1024 / args.idle:,.0f} bytes per connection).",
        "",
        "## Goals",
        "",
        f"- ≥ 1.5× Hummingbird's req/s: {lockd[0] / hb[0]:.2f}× — {'met' if lockd[0] >= 1.5 * hb[0] else 'NOT met'}",
        f"- ≥ 60% of nginx's req/s: {lockd[0] / nginx[0]:.0%} — {'met' if lockd[0] >= 0.6 * nginx[0] else 'NOT met'}",
        f"- p99 ≤ 2× nginx's: {lockd[2] / nginx[2]:.2f}× — {'met' if lockd[2] <= 2 * nginx[2] else 'NOT met'}",
        f"- 10k idle connections under 200 MiB RSS: {during / 1024:.1f} MiB — {'met' if during < 200 * 1024 else 'NOT met'}",
        "",
    ]
    with open(RESULTS, "w") as results:
        results.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
