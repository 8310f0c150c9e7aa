#!/usr/bin/env python3
"""Writes benchmarks/gzip/RESULTS.md from run.sh's results.jsonl.

  report.py RESULTS_JSONL LOAD_TXT DURATION CLIENTS CONNECTIONS CYCLE_DURATION > RESULTS.md

Ratios are taken within one repeat (the same minute on the same machine);
the table gives their median, and the absolute figures are medians too.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
load = open(sys.argv[2]).read().strip().splitlines()
duration, clients, connections, cycle_duration = sys.argv[3:7]
tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
median = statistics.median


def cpu_us(row, count):
    return row["ticks"] * tick_us / count if count else float("nan")


out = []
say = out.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
say("# Compressed responses: bytes, CPU, and the lock path\n")
say(f"Measured {now} on {platform.machine()}, {cores} cores, Linux {platform.release()}, by "
    "`benchmarks/gzip/run.sh` (release builds; lockd on a Redis the script starts; "
    f"wrk -t2 -c{connections}, {duration} s per run, for the GETs; lockbench "
    f"--clients {clients} --names 1000, {cycle_duration} s per run, for the lock cycle). The machine is shared with other "
    "builds and tests, so absolute figures are noisy: read the ratios, which are taken "
    "within one repeat. Load average:\n")
for line in load:
    say(f"- {line}")
say("")

say("## GET /metrics and a 100-lock GET /locks page\n")
say("Bytes are what wrk read per response (status line, headers and body); CPU is lockd's "
    "(utime + stime from /proc/PID/stat around the wrk run) divided by the requests served.\n")
say("| route | Accept-Encoding | sent as | bytes / response | lockd CPU / request | requests/s | bytes vs identity | CPU vs identity |")
say("|---|---|---|---:|---:|---:|---:|---:|")
gets = [r for r in rows if r["kind"] == "get"]
for route in ("metrics", "list"):
    for encoding in ("identity", "gzip"):
        mine = [r for r in gets if r["route"] == route and r["encoding"] == encoding]
        if not mine:
            continue
        byte_ratios, cpu_ratios = [], []
        for r in mine:
            base = next(b for b in gets if b["route"] == route and b["encoding"] == "identity" and b["repeat"] == r["repeat"])
            byte_ratios.append((r["bytes"] / r["requests"]) / (base["bytes"] / base["requests"]))
            cpu_ratios.append(cpu_us(r, r["requests"]) / cpu_us(base, base["requests"]))
        label = "/metrics" if route == "metrics" else "/locks?limit=100 (100 held)"
        say(f"| {label} | {'gzip' if encoding == 'gzip' else '(none)'} | {mine[0]['sent']} "
            f"| {median(r['bytes'] / r['requests'] for r in mine):,.0f} "
            f"| {median(cpu_us(r, r['requests']) for r in mine):.0f} µs "
            f"| {median(r['requests'] / float(r['seconds']) for r in mine):,.0f} "
            f"| {median(byte_ratios):.2f}× | {median(cpu_ratios):.2f}× |")
say("")

say("## The lock path: acquire→release cycles, with compression available and without\n")
say("`gzip` is this branch's lockd (CompressingResponder around the router); `base` is main "
    "built separately (BASE_LOCKD), both running at once on the same Redis and driven in turn, "
    "the order swapped every round. lockbench sends no `Accept-Encoding`; a lease's answer "
    "never reaches the code that reads it.\n")
cycles = [r for r in rows if r["kind"] == "cycle"]
ratios = []
for repeat in sorted({r["repeat"] for r in cycles}):
    pair = {r["system"]: r for r in cycles if r["repeat"] == repeat}
    if "gzip" in pair and "base" in pair:
        ratios.append((pair["gzip"]["cycles_per_s"] / pair["base"]["cycles_per_s"],
                       cpu_us(pair["gzip"], pair["gzip"]["cycles"]) / cpu_us(pair["base"], pair["base"]["cycles"])))
say("| lockd | cycles/s (median) | lockd CPU / cycle (median) | failed steps |")
say("|---|---:|---:|---|")
for system in ("gzip", "base"):
    mine = [r for r in cycles if r["system"] == system]
    failures = {}
    for r in mine:
        for k, v in r["failures"].items():
            failures[k] = failures.get(k, 0) + v
    say(f"| {system} | {median(r['cycles_per_s'] for r in mine):,.0f} "
        f"| {median(cpu_us(r, r['cycles']) for r in mine):.1f} µs "
        f"| {', '.join(f'{k}: {v}' for k, v in failures.items()) or 'none'} |")
say("")
if len(ratios) >= 2:
    def spread(values):
        q = statistics.quantiles(values, n=4)
        return f"median **{median(values):.3f}**, quartiles {q[0]:.3f}–{q[2]:.3f}, all {min(values):.2f}–{max(values):.2f}"
    say(f"gzip / base over {len(ratios)} rounds: cycle rate {spread([r[0] for r in ratios])}; "
        f"lockd CPU per cycle {spread([r[1] for r in ratios])}.\n")
inproc = next((r for r in rows if r["kind"] == "responder_pair_ns"), None)
if inproc:
    base_cpu = median(cpu_us(r, r["cycles"]) for r in cycles if r["system"] == "base") if cycles else float("nan")
    say("In process (`lockd-gzip-bench`: a lease-sized acquire and a 204 release, with URLSession's "
        "headers, through a bare router and through CompressingResponder; the fastest of 15 "
        f"alternated rounds, in thread CPU time): {inproc['bare']:.0f} ns bare, "
        f"{inproc['compressing']:.0f} ns wrapped per acquire+release: "
        + (f"the responder adds {inproc['added']:.0f} ns per cycle, {100 * inproc['added'] / 1000 / base_cpu:.2f}% of the "
           f"{base_cpu:.0f} µs of lockd CPU a cycle costs above.\n" if inproc["added"] > 0 else
           f"no cost measurable (the difference, {inproc['added']:.0f} ns, is noise), against the "
           f"{base_cpu:.0f} µs of lockd CPU a cycle costs above.\n"))

say("## zlib's level, on the same bodies\n")
say("One compression of each body (window sized to the body, as lockd does), median of 300, "
    "through Python's zlib module (the same system zlib; about 1 µs of the time is Python's).\n")
say("| body | bytes | level | compressed | ratio | time |")
say("|---|---:|---:|---:|---:|---:|")
for r in (r for r in rows if r["kind"] == "level"):
    say(f"| {r['body']} | {r['size']:,} | {r['level']} | {r['compressed']:,} | {r['compressed'] / r['size']:.3f} | {r['us']:.0f} µs |")
say("")

stream = next((r for r in rows if r["kind"] == "stream"), None)
if stream:
    say("## A gzip event stream, for the streaming decision\n")
    say(f"{stream['events']} simulated lock events in PRODUCT.md's SSE shape: identity "
        f"{stream['identity_bytes_per_event']:.0f} bytes per event; gzip flushed after every "
        f"event (Z_SYNC_FLUSH, so each event reaches the client at once) "
        f"{stream['gzip_bytes_per_event']:.0f} bytes per event at "
        f"{stream['gzip_us_per_event']:.0f} µs of CPU per event per stream (through Python), "
        f"and {stream['zlib_bytes_per_stream'] / 1024:.0f} KiB of zlib state held per open "
        "stream. See the README for the decision.\n")

print("\n".join(out))
