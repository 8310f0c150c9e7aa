#!/usr/bin/env python3
"""SDK benchmark: withLock round trips through the Swift SDK against
lockbench's raw-HTTP acquire → release cycles, same concurrency, same run.

Starts its own redis-server and lockd (on the Redis store, then on the
in-memory store) on free loopback ports, and for each store runs, interleaved
over several rounds: lockbench --clients 16 and lockd-sdk-bench --tasks 16 in
its four modes — withLock with its default wait (until granted), withLock
trying once, and, to show what the layers underneath cost, the generated
client alone and URLSession alone. Every task has its own lock name:
uncontended. Reports medians and per-round ratios in benchmarks/sdk/RESULTS.md.

    python3 benchmarks/sdk/run.py [--rounds 3] [--duration 10] [--tasks 16] [--skip-build]
    python3 benchmarks/sdk/run.py --report-only   # rewrite RESULTS.md from results.json
    python3 benchmarks/sdk/run.py --baseline /tmp/main-sdk-bench  # also withLock of another build (before/after)

--baseline names a lockd-sdk-bench built from another SDK (main's, say): its
withLock runs interleaved with the rest in every round, and the report adds a
before/after table. Instructions per cycle (load-independent): instructions.sh.

Needs redis-server (apt-get install -y redis-server). Stops only what it started.
"""
import argparse, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".build", "release")
RESULTS = os.path.join(ROOT, "benchmarks", "sdk", "RESULTS.md")
RAW = os.path.join(ROOT, "benchmarks", "sdk", "results.json")
GOAL = 0.80


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"run.py: a server exited at start (status {process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"run.py: nothing listens on {port}")


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Servers:
    """redis-server and one lockd at a time, stopped by PID."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.redis_port, self.redis)
        self.lockd = None

    def start_lockd(self, store):
        self.stop_lockd()
        self.lockd_port = free_port()
        arguments = [os.path.join(BIN, "lockd"), "--listen", f"127.0.0.1:{self.lockd_port}", "--log-level", "warning"]
        if store == "redis":
            arguments += ["--redis", f"redis://127.0.0.1:{self.redis_port}"]
        self.log = open(os.path.join(self.tmp, f"lockd-{store}.log"), "a")
        self.lockd = subprocess.Popen(arguments, stdout=self.log, stderr=self.log)
        wait_port(self.lockd_port, self.lockd)
        return f"http://127.0.0.1:{self.lockd_port}"

    def stop_lockd(self):
        if self.lockd and self.lockd.poll() is None:
            self.lockd.send_signal(signal.SIGTERM)
            try:
                self.lockd.wait(10)
            except subprocess.TimeoutExpired:
                self.lockd.kill()
                self.lockd.wait()
        self.lockd = None

    def stop(self):
        self.stop_lockd()
        if self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait(10)


def measure(command, timeout):
    print("+", " ".join(command), flush=True)
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout).stdout
    return json.loads(output)


def lockbench(url, tasks, duration):
    summary = measure([os.path.join(BIN, "lockbench"), "--url", url, "--clients", str(tasks),
                       "--duration", f"{duration}s", "--json"], duration + 60)
    failures = summary["errors"]
    errors = sum(failures[kind] for kind in ["connect", "closed", "malformed", "timeout"])
    for operation in ["acquire", "release"]:
        statuses = summary[operation]["statuses"]
        errors += statuses["conflict"] + statuses["unavailable"] + statuses["other"]
    return {"rate": summary["cycles_per_second"], "p50": summary["acquire"]["latency_ms"]["p50"] + summary["release"]["latency_ms"]["p50"],
            "p99": summary["acquire"]["latency_ms"]["p99"] + summary["release"]["latency_ms"]["p99"],
            "cpu": summary["lockbench_cpu_percent"], "errors": errors}


def sdkbench(url, tasks, duration, mode, binary=None):
    summary = measure([binary or os.path.join(BIN, "lockd-sdk-bench"), "--url", url, "--tasks", str(tasks),
                       "--duration", str(duration), "--mode", mode], duration + 60)
    return {"rate": summary["cycles_per_second"], "p50": summary["latency_ms"]["p50"], "p99": summary["latency_ms"]["p99"],
            "cpu": summary["cpu_percent"], "errors": summary["errors"]}


def cpu_per_cycle(run):
    """The client's CPU time per cycle, in microseconds."""
    return run["cpu"] / 100 / run["rate"] * 1e6 if run["rate"] else 0


SYSTEMS = [("lockbench", "lockbench (raw HTTP/1.1, one event-loop thread)"),
           ("withlock", "SDK `withLock(name) { _ in }` (default wait: until granted)"),
           ("withlock-try", "SDK `withLock(name, wait: .zero) { _ in }`"),
           ("generated", "generated client alone (acquireLock + releaseLock)"),
           ("generated-socket", "generated client alone over `SocketTransport`"),
           ("urlsession", "URLSession alone (POST + DELETE, `data(for:)`)")]
BASELINE = ("withlock-baseline", "SDK `withLock(name) { _ in }` of the baseline build (`--baseline`)")


def systems(baseline):
    return SYSTEMS + [BASELINE] if baseline else SYSTEMS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--baseline", help="another build's lockd-sdk-bench, whose withLock runs beside this one's")
    args = parser.parse_args()
    if args.report_only:
        with open(RAW) as f:
            raw = json.load(f)
        write_report(argparse.Namespace(**{"baseline": None, **raw["args"]}), raw["results"], raw["loads"], raw["generated"])
        return
    if not shutil.which("redis-server"):
        sys.exit("run.py: redis-server is missing (apt-get install -y redis-server)")
    if not args.skip_build:
        for product in ["lockd", "lockbench", "lockd-sdk-bench"]:
            subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True)

    tmp = tempfile.mkdtemp(prefix="lockd-sdk-bench.")
    servers = Servers(tmp)
    results = {store: {system: [] for system, _ in systems(args.baseline)} for store in ["redis", "memory"]}
    loads = []
    try:
        for round_index in range(args.rounds):
            loads.append(load())
            for store in ["redis", "memory"]:
                url = servers.start_lockd(store)
                order = systems(args.baseline) if round_index % 2 == 0 else list(reversed(systems(args.baseline)))
                for system, _ in order:
                    if system == "lockbench":
                        result = lockbench(url, args.tasks, args.duration)
                    elif system == BASELINE[0]:
                        result = sdkbench(url, args.tasks, args.duration, "withlock", args.baseline)
                    else:
                        result = sdkbench(url, args.tasks, args.duration, system)
                    result["load"] = load()
                    results[store][system].append(result)
                    print(f"   round {round_index + 1} {store} {system}: {result['rate']:.0f} cycles/s", flush=True)
        loads.append(load())
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    generated = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    with open(RAW, "w") as f:
        json.dump({"args": {"rounds": args.rounds, "duration": args.duration, "tasks": args.tasks, "baseline": args.baseline},
                   "results": results, "loads": loads, "generated": generated}, f, indent=1)
    write_report(args, results, loads, generated)


def write_report(args, results, loads, generated):
    lines = ["# SDK benchmark: withLock against lockbench", ""]
    uname = os.uname()
    lines.append(f"Generated by `benchmarks/sdk/run.py` on {generated} — "
                 f"{uname.machine}, {os.cpu_count()} cores, Linux {uname.release}.")
    lines.append(f"{args.rounds} round(s) of {args.duration} s per measurement, {args.tasks} concurrent tasks / clients, "
                 "each on its own lock name (uncontended); lockd built in release mode, systems interleaved within each round. "
                 "Figures are medians over rounds; ratios are medians of the ratios taken within each round.")
    lines.append("Everything ran on loopback on this one machine, load generators included: the client's own CPU use comes "
                 "out of the same two cores lockd (and Redis) run on, which is part of what is measured.")
    lines.append("")
    lines.append("Machine load (1, 5, 15 min averages) at the start of each round and at the end: " + "; ".join(loads) + ".")
    lines.append("")
    lines.append("## Goal")
    lines.append("")
    lines.append("| goal | store | measured: median of per-round ratios (range) | met |")
    lines.append("|---|---|---|---|")
    for store in ["redis", "memory"]:
        ratios = [sdk["rate"] / raw["rate"] for sdk, raw in zip(results[store]["withlock"], results[store]["lockbench"]) if raw["rate"]]
        median = statistics.median(ratios)
        lines.append(f"| withLock cycles/s ≥ {GOAL:.0%} of lockbench's, {args.tasks} tasks | {store} | "
                     f"{median:.0%} ({min(ratios):.0%}–{max(ratios):.0%}) | {'yes' if median >= GOAL else 'no'} |")
    lines.append("")
    if results["redis"].get(BASELINE[0]):
        lines.append("## Before and after, same run")
        lines.append("")
        lines.append(f"`withLock` of the baseline build (`{args.baseline}`) and of this tree, interleaved with lockbench in "
                     "each round against the same lockd; the SDK is the only difference. Per round: cycles/s as a share of "
                     "lockbench's, and the client's CPU µs per cycle.")
        lines.append("")
        lines.append("| store | round | lockbench cycles/s | baseline `withLock` (client µs/cycle) | this tree's `withLock` (client µs/cycle) | load at the end |")
        lines.append("|---|---|---|---|---|---|")
        for store in ["redis", "memory"]:
            rounds = zip(results[store]["lockbench"], results[store][BASELINE[0]], results[store]["withlock"])
            for index, (raw, before, after) in enumerate(rounds):
                lines.append(f"| {store} | {index + 1} | {raw['rate']:,.0f} | {before['rate'] / raw['rate']:.0%} ({cpu_per_cycle(before):.0f}) | "
                             f"{after['rate'] / raw['rate']:.0%} ({cpu_per_cycle(after):.0f}) | {after['load']} |")
        lines.append("")
    lines.append("## Reading")
    lines.append("")
    for store in ["redis", "memory"]:
        def ratio(top, bottom):
            return statistics.median(t["rate"] / b["rate"] for t, b in zip(results[store][top], results[store][bottom]) if b["rate"])
        lines.append(f"- {store}: URLSession alone reaches {ratio('urlsession', 'lockbench'):.0%} of lockbench's cycle rate, "
                     f"the generated client {ratio('generated', 'urlsession'):.0%} of URLSession alone, and `withLock` "
                     f"{ratio('withlock', 'generated'):.0%} of the generated client ({ratio('withlock', 'urlsession'):.0%} of URLSession alone).")
    for store in ["redis", "memory"]:
        def ratio(top, bottom):
            return statistics.median(t["rate"] / b["rate"] for t, b in zip(results[store][top], results[store][bottom]) if b["rate"])
        if results[store].get("generated-socket"):
            lines.append(f"- {store}: the generated client over `SocketTransport` reaches {ratio('generated-socket', 'lockbench'):.0%} "
                         f"of lockbench's rate ({ratio('generated-socket', 'generated'):.1f}× its rate over URLSession), and "
                         f"`withLock` {ratio('withlock', 'generated-socket'):.0%} of it.")
    for store in ["redis", "memory"]:
        def per_cycle(system):
            return statistics.median(cpu_per_cycle(r) for r in results[store][system])
        lines.append(f"- {store}: client CPU per cycle: `withLock` {per_cycle('withlock'):.0f} µs, the generated client over "
                     f"`SocketTransport` {per_cycle('generated-socket'):.0f} µs, lockbench {per_cycle('lockbench'):.0f} µs.")
    lines.append("- `withLock` goes through the SDK's own `SocketTransport` (HTTP/1.1 keep-alive on lockd's sockets, one "
                 "event-loop thread); the `generated` and URLSession rows use URLSession, the SDK's old path. On this two-core "
                 "machine the client's CPU comes out of what lockd (and Redis) could use, so the cycle rate follows the "
                 "client's CPU per cycle. Profiled earlier (`perf record -g` on `lockd-sdk-bench --mode withlock`), the generated "
                 "client's per-request work (path and header encoding through the URI coder, `HTTPRequest`/`HTTPBody`, "
                 "middlewares) was most of it, then `Task.sleep` timers (dispatch's manager thread) for each request's "
                 "deadline and each lease's renewal loop, hops between the global executor and the transport's loop, and "
                 "the response parser's string handling. The SDK now sends acquire, renew and release itself over "
                 "`SocketTransport` (the generated client's exact requests; any answer but the expected success is read "
                 "by the generated client), writes the acquire's body and reads the granted lease byte by byte "
                 "(`LeaseCallJSON`; JSONEncoder/JSONDecoder take whatever it leaves), runs every step of `withLock` "
                 "where its caller runs (the exchanges on the transport's loop, their answers resuming the caller; the "
                 "request path's async functions `nonisolated(nonsending)`, so they switch no executor), runs a "
                 "nonisolated caller's body in a child task started at once on the caller's thread (no other thread "
                 "woken for it), and waits for a lease's first renewal on a timer of the loop (the renewal task starts "
                 "only when it is due). A cycle makes one task: the body's child task, which a loss of the lease cancels "
                 "directly (no watcher task), and the release runs in the caller's task (its exchange ignores "
                 "cancellation). What remains is the kernel's loopback sends and the wake-ups between the loop and the "
                 "caller's threads, Swift's task machinery (task allocation, thread-local look-ups, retain/release, "
                 "generic metadata of the unspecialised `withLock<T>`), and the lease's JSON; `instructions.sh` counts "
                 "the client's instructions per cycle under callgrind, free of the machine's load.")
    lines.append("")
    lines.append("## Uncontended acquire → release cycles")
    lines.append("")
    lines.append("| store | system | cycles/s | vs lockbench | vs URLSession alone | cycle p50 / p99 ms | client CPU (% of one core) | client CPU µs / cycle | errors |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for store in ["redis", "memory"]:
        for system, label in systems(args.baseline):
            runs = results[store][system]
            ratio = statistics.median(r["rate"] / b["rate"] for r, b in zip(runs, results[store]["lockbench"]) if b["rate"])
            floor = statistics.median(r["rate"] / b["rate"] for r, b in zip(runs, results[store]["urlsession"]) if b["rate"])
            lines.append(f"| {store} | {label} | {statistics.median(r['rate'] for r in runs):,.0f} | {ratio:.0%} | {floor:.0%} | "
                         f"{statistics.median(r['p50'] for r in runs):.2f} / {statistics.median(r['p99'] for r in runs):.2f} | "
                         f"{statistics.median(r['cpu'] for r in runs):.0f} | {statistics.median(cpu_per_cycle(r) for r in runs):.0f} | "
                         f"{sum(r['errors'] for r in runs)} |")
    lines.append("")
    lines.append("## How each figure is made")
    lines.append("")
    lines.append("- **lockbench**: `lockbench --clients N --duration Ds --json`: N keep-alive connections driven by one "
                 "event-loop thread, each looping `POST /locks/{name}` → `DELETE /locks/{name}`; its cycle latency here "
                 "is the sum of its acquire and release percentiles.")
    lines.append("- **SDK**: `lockd-sdk-bench --tasks N --duration D` (benchmarks/sdk/lockd-sdk-bench): N Swift tasks on one "
                 "`LockClient`, each looping `withLock(its name, ttl: .seconds(30)) { _ in }` after a one-second warm-up; "
                 "a cycle is the whole call (acquire with a client-made token, the timer for the lease's first renewal set and "
                 "cancelled, the body run in a child task that a loss of the lease cancels, release), timed on the monotonic clock. "
                 "Acquire, renew and release go straight over the SDK's default transport, `SocketTransport`.")
    lines.append("- **generated client alone**: `lockd-sdk-bench --mode generated`: the same cycle through the client "
                 "swift-openapi-generator makes (`acquireLock`, `releaseLock`) over `URLSessionTransport`, without the SDK layer.")
    lines.append("- **generated client alone over `SocketTransport`**: `lockd-sdk-bench --mode generated-socket`: the same, "
                 "over the SDK's own transport: what swift-openapi-runtime and the transport cost without the SDK layer.")
    lines.append("- **URLSession alone**: `lockd-sdk-bench --mode urlsession`: `POST` and `DELETE` with `URLSession.data(for:)` "
                 "on one ephemeral session and `JSONSerialization` for the token: the ceiling of any client on URLSession.")
    lines.append("- Client CPU is what the load generator's own process used (getrusage), in percent of one core.")
    lines.append("")
    with open(RESULTS, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
