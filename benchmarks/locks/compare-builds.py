#!/usr/bin/env python3
"""The acquire→release cycle of two lockd builds, side by side in one run.

    python3 benchmarks/locks/compare-builds.py --base /tmp/base/.build/release/lockd \\
        [--new .build/release/lockd] [--variant access-log=--access-log] [--rounds 5] [--duration 10] \\
        [--driver lockbench|wrk] [--healthz]

Starts one redis-server (or none with --store memory); then, for each round,
each variant in turn (interleaved, so that the machine's other load falls on
all of them alike): starts that lockd, drives it with lockbench (uncontended
cycles, --clients clients) or with wrk and lockd-cycle.lua (`--driver wrk`:
`wrk -tN -cN`, one connection per thread, 1 000 names — issue 22's shape),
and reads the lockd process's CPU time from /proc before and after. With
--healthz each variant's CPU per `GET /healthz` (`wrk -t2 -c32`, issue 22's
shape) is read in the same round, and lock request ÷ /healthz reported. Reports per variant the median cycles/s and the
median lockd CPU per cycle, and each variant's ratio to the base computed
within each round (the median of those ratios). Loopback only; stops what it
started.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_ready(url):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"compare-builds: {url} did not become ready")


def wrk_cycle(url, arguments, seconds):
    """wrk -tN -cN with lockd-cycle.lua for SECONDS; its RESULT line as a dict."""
    script = os.path.join(ROOT, "benchmarks/locks/lockd-cycle.lua")
    clients = str(arguments.clients)
    run = subprocess.run(["wrk", f"-t{clients}", f"-c{clients}", f"-d{seconds}s", "-s", script, url, "--",
                          "1000", clients, f"cmp{time.monotonic_ns()}", "0"],
                         check=True, capture_output=True, text=True, timeout=seconds + 60)
    line = next(l for l in run.stdout.splitlines() if l.startswith("RESULT"))
    return {key: value for key, value in (field.split("=", 1) for field in line.split()[1:])}


def healthz_cpu_us(lockd, url, arguments):
    """lockd's CPU µs per GET /healthz at wrk -t2 -c32 (issue 22's shape)."""
    before = cpu_seconds(lockd.pid)
    run = subprocess.run(["wrk", "-t2", "-c32", f"-d{arguments.duration}s", f"{url}/healthz"],
                         check=True, capture_output=True, text=True, timeout=arguments.duration + 60)
    cpu = cpu_seconds(lockd.pid) - before
    requests = next(int(l.split()[0]) for l in run.stdout.splitlines() if "requests in" in l)
    return cpu / max(requests, 1) * 1e6


def run_variant(binary, extra, redis_url, lockbench, arguments, directory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [binary, "--listen", f"127.0.0.1:{port}", "--log-level", "warning"] + extra
    if redis_url:
        command += ["--redis", redis_url]
    log = open(os.path.join(directory, "lockd.log"), "a")
    lockd = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(url)
        # A short warm-up, then the measured run.
        if arguments.driver == "wrk":
            wrk_cycle(url, arguments, 2)
            before = cpu_seconds(lockd.pid)
            summary = wrk_cycle(url, arguments, arguments.duration)
            cpu = cpu_seconds(lockd.pid) - before
            cycles = int(summary["cycles"])
            result = {"cycles_per_second": float(summary["cycles_per_s"]), "cpu_us_per_cycle": cpu / max(cycles, 1) * 1e6,
                      "errors": int(summary["errors"]) + int(summary["socket_errors"])}
        else:
            subprocess.run([lockbench, "--url", url, "--clients", str(arguments.clients), "--duration", "2s"],
                           check=True, capture_output=True, timeout=60)
            before = cpu_seconds(lockd.pid)
            run = subprocess.run([lockbench, "--url", url, "--clients", str(arguments.clients), "--duration", f"{arguments.duration}s", "--json"],
                                 check=True, capture_output=True, text=True, timeout=arguments.duration + 60)
            cpu = cpu_seconds(lockd.pid) - before
            summary = json.loads(run.stdout)
            cycles = summary["cycles"]
            result = {"cycles_per_second": summary["cycles_per_second"], "cpu_us_per_cycle": cpu / max(cycles, 1) * 1e6,
                      "errors": sum(summary.get("errors", {}).values()) if isinstance(summary.get("errors"), dict) else 0}
        if arguments.healthz:
            result["healthz_us"] = healthz_cpu_us(lockd, url, arguments)
        return result
    finally:
        lockd.terminate()
        try:
            lockd.wait(timeout=15)
        except subprocess.TimeoutExpired:
            lockd.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the lockd binary to compare against (e.g. main's)")
    parser.add_argument("--new", default=os.path.join(ROOT, ".build/release/lockd"))
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=FLAGS: the new binary again with these flags (e.g. access-log=--access-log)")
    parser.add_argument("--lockbench", default=os.path.join(ROOT, ".build/release/lockbench"))
    parser.add_argument("--store", choices=["redis", "memory"], default="redis")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--driver", choices=["lockbench", "wrk"], default="lockbench",
                        help="lockbench's one thread, or wrk -tN -cN with lockd-cycle.lua (issue 22's shape)")
    parser.add_argument("--healthz", action="store_true",
                        help="also each variant's CPU per GET /healthz at wrk -t2 -c32, and lock request ÷ healthz")
    arguments = parser.parse_args()
    variants = [("base", arguments.base, []), ("new", arguments.new, [])]
    for spec in arguments.variant:
        name, _, flags = spec.partition("=")
        variants.append((name, arguments.new, flags.split()))

    directory = tempfile.mkdtemp(prefix="lockd-compare-")
    redis = None
    try:
        redis_url = None
        if arguments.store == "redis":
            redis_port = free_port()
            redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", directory], stdout=subprocess.DEVNULL)
            redis_url = f"redis://127.0.0.1:{redis_port}"
            time.sleep(0.5)
        results = {name: [] for name, _, _ in variants}
        for round_number in range(arguments.rounds):
            load = open("/proc/loadavg").read().split()[:3]
            for name, binary, extra in variants:
                result = run_variant(binary, extra, redis_url, arguments.lockbench, arguments, directory)
                results[name].append(result)
                healthz = f", /healthz {result['healthz_us']:5.1f} µs" if "healthz_us" in result else ""
                print(f"round {round_number + 1} {name:>12}: {result['cycles_per_second']:9.1f} cycles/s, "
                      f"lockd {result['cpu_us_per_cycle']:6.1f} µs CPU/cycle{healthz}, errors {result['errors']} "
                      f"(load {' '.join(load)})", file=sys.stderr)
        print(f"\n{arguments.rounds} rounds of {arguments.duration} s, {arguments.clients} clients, store {arguments.store}, "
              f"driver {arguments.driver}")
        print("| variant | cycles/s (median) | lockd CPU µs/cycle (median) | cycles/s vs base (median of per-round ratios, range) | CPU/cycle vs base |")
        print("|---|---|---|---|---|")
        for name, _, _ in variants:
            rates = [r["cycles_per_second"] for r in results[name]]
            cpus = [r["cpu_us_per_cycle"] for r in results[name]]
            ratios = [r["cycles_per_second"] / b["cycles_per_second"] for r, b in zip(results[name], results["base"])]
            cpu_ratios = [r["cpu_us_per_cycle"] / b["cpu_us_per_cycle"] for r, b in zip(results[name], results["base"])]
            print(f"| {name} | {statistics.median(rates):,.0f} | {statistics.median(cpus):.1f} | "
                  f"{statistics.median(ratios) * 100:.1f}% ({min(ratios) * 100:.0f}–{max(ratios) * 100:.0f}%) | "
                  f"{statistics.median(cpu_ratios) * 100:.1f}% |")
        if arguments.healthz:
            print("\n| variant | lockd CPU µs / lock request (median) | µs / `/healthz` (median) | lock ÷ healthz (median of per-round ratios) |")
            print("|---|---|---|---|")
            for name, _, _ in variants:
                lock = [r["cpu_us_per_cycle"] / 2 for r in results[name]]
                healthz = [r["healthz_us"] for r in results[name]]
                print(f"| {name} | {statistics.median(lock):.1f} | {statistics.median(healthz):.1f} | "
                      f"{statistics.median([l / h for l, h in zip(lock, healthz)]):.2f} |")
    finally:
        if redis:
            redis.terminate()
            redis.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
