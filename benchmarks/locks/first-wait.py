#!/usr/bin/env python3
"""The cost of a first wait on a name, beside a wait on a name already waited on.

In a Redis Cluster a lockd listens for a name's wake-ups on the name's shard
channel only while it has waiters there: the first wait on a name (a *fresh*
name) subscribes (`SSUBSCRIBE`) and looks at the queue once more; a wait on a
name waited on within the last ~2 s (a *hot* name) does neither. On one Redis
server every name is hot (one classic channel, always subscribed).

Two contended acquires, each on a name another client holds:
- `timeout`: the acquire asks `wait_ms: 1`, so it joins the queue, listens,
  finds its time up and is answered 409 — the work a first wait adds to (a
  hot name's waiter parks for what is left of its 1 ms and asks once more;
  a fresh name's has spent it subscribing);
- `handoff`: the acquire asks `wait_ms: 5000` and the holder releases as soon
  as a status poll shows it queued — the worst case for a first wait, as the
  release may come before its lockd listens (then the waiter takes the name
  when it looks again, instead of being handed it by the release).
Fresh and hot samples, and the deployments, alternate within each round, so
load changes on the shared machine hit all of them alike.

    first-wait.py --target single=http://127.0.0.1:7070 --target cluster=http://127.0.0.1:7071 [--rounds 300]

Prints the median and p90 latency of each cell and the ratios of medians;
with --json, one JSON object instead.
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse


class Lockd:
    """Keep-alive connections to one lockd: the holder's, the waiter's, an observer's."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.holder, self.waiter, self.observer = (
            http.client.HTTPConnection(parts.hostname, parts.port, timeout=10) for _ in range(3))

    @staticmethod
    def call(connection, method, path, body=None, headers=None):
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()

    def hold(self, name, ttl_ms):
        status, body = self.call(self.holder, "POST", f"/locks/{name}", json.dumps({"ttl_ms": ttl_ms}))
        if status != 201:
            sys.exit(f"first-wait.py: could not hold {name}: {status} {body[:200]!r}")
        return json.loads(body)["token"]

    def release(self, name, token):
        self.call(self.holder, "DELETE", f"/locks/{name}", headers={"Lock-Token": token})

    def contended_acquire(self, name):
        """Nanoseconds for a wait_ms 1 acquire on a held name (answered 409)."""
        start = time.perf_counter_ns()
        status, body = self.call(self.waiter, "POST", f"/locks/{name}", json.dumps({"ttl_ms": 5000, "wait_ms": 1}))
        elapsed = time.perf_counter_ns() - start
        if status != 409:
            sys.exit(f"first-wait.py: a contended acquire on {name} answered {status} {body[:200]!r}")
        return elapsed

    def handed_off(self, name, token):
        """Nanoseconds for a waiting acquire on `name` (held with `token`),
        released as soon as the waiter is queued."""
        start = time.perf_counter_ns()
        self.waiter.request("POST", f"/locks/{name}", body=json.dumps({"ttl_ms": 5000, "wait_ms": 5000}))
        while json.loads(self.call(self.observer, "GET", f"/locks/{name}")[1]).get("waiting", 0) < 1:
            if time.perf_counter_ns() - start > 5e9:
                sys.exit(f"first-wait.py: the waiter on {name} never showed in the queue")
        self.release(name, token)
        response = self.waiter.getresponse()
        body = response.read()
        elapsed = time.perf_counter_ns() - start
        if response.status != 201:
            sys.exit(f"first-wait.py: a waiting acquire on {name} answered {response.status} {body[:200]!r}")
        self.call(self.waiter, "DELETE", f"/locks/{name}", headers={"Lock-Token": json.loads(body)["token"]})
        return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", action="append", required=True, help="LABEL=URL of a lockd (repeat)")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    targets = [tuple(target.split("=", 1)) for target in args.target]
    lockds = {label: Lockd(url) for label, url in targets}
    run = f"fw{os.getpid()}x{int(time.time())}"
    hot = {label: f"{run}-{label}-hot" for label in lockds}
    hot_tokens = {label: lockd.hold(hot[label], 600_000) for label, lockd in lockds.items()}
    scenarios = ("timeout", "handoff")
    samples = {(label, kind, scenario): [] for label in lockds for kind in ("fresh", "hot") for scenario in scenarios}
    try:
        for round_ in range(args.warmup + args.rounds):
            order = list(lockds) if round_ % 2 == 0 else list(reversed(lockds))
            for label in order:
                lockd = lockds[label]
                kinds = ("fresh", "hot") if round_ % 2 == 0 else ("hot", "fresh")
                for kind in kinds:
                    if kind == "fresh":
                        # One fresh name per scenario: a second wait would find it subscribed.
                        names = {scenario: f"{run}-{label}-{round_}-{scenario}" for scenario in scenarios}
                        tokens = {scenario: lockd.hold(names[scenario], 5000) for scenario in scenarios}
                    else:
                        names = dict.fromkeys(scenarios, hot[label])
                        tokens = dict.fromkeys(scenarios, hot_tokens[label])
                    timeout = lockd.contended_acquire(names["timeout"])
                    if kind == "fresh":
                        lockd.release(names["timeout"], tokens["timeout"])
                    handoff = lockd.handed_off(names["handoff"], tokens["handoff"])
                    if kind == "hot":
                        # Held again for the next round's waits.
                        hot_tokens[label] = lockd.hold(hot[label], 600_000)
                    if round_ >= args.warmup:
                        samples[(label, kind, "timeout")].append(timeout / 1e6)
                        samples[(label, kind, "handoff")].append(handoff / 1e6)
    finally:
        for label, lockd in lockds.items():
            lockd.release(hot[label], hot_tokens[label])

    def cell(values):
        values = sorted(values)
        return {"median_ms": statistics.median(values), "p90_ms": values[int(len(values) * 0.9)]}

    cells = {f"{label}/{kind}/{scenario}": cell(values) for (label, kind, scenario), values in samples.items()}
    median = {name: value["median_ms"] for name, value in cells.items()}
    ratios = {}
    labels = list(lockds)
    for scenario in scenarios:
        for label in labels:
            ratios[f"{label} fresh/hot, {scenario}"] = median[f"{label}/fresh/{scenario}"] / median[f"{label}/hot/{scenario}"]
        for other in labels[1:]:
            for kind in ("fresh", "hot"):
                ratios[f"{other}/{labels[0]} {kind}, {scenario}"] = median[f"{other}/{kind}/{scenario}"] / median[f"{labels[0]}/{kind}/{scenario}"]
    if args.json:
        print(json.dumps({"rounds": args.rounds, "cells": cells, "ratios": ratios}))
        return
    print(f"contended acquires, {args.rounds} samples each (timeout: wait_ms 1, answered 409; handoff: released once queued):")
    for name, value in cells.items():
        print(f"  {name:24} median {value['median_ms']:.2f} ms  p90 {value['p90_ms']:.2f} ms")
    for name, value in ratios.items():
        print(f"  {name:32} {value:.2f}")


if __name__ == "__main__":
    main()
