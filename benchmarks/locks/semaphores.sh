#!/usr/bin/env bash
# Issue 12's figures: semaphores (limit) and shared (reader) leases beside the
# plain lock, in the same run on one Redis; rewrites the "Semaphores and
# reader-writer locks (issue 12)" section of benchmarks/locks/RESULTS.md.
#
#   benchmarks/locks/semaphores.sh
#
# Starts its own redis-server (no persistence) and lockd (--redis) on free
# loopback ports and stops only what it started. Each round runs the three
# cases for DURATION seconds, in an order that rotates from round to round:
#   plain      CLIENTS clients, each on names of its own (uncontended)
#   semaphore  CLIENTS clients on one name with limit LIMIT, wait_ms WAIT_MS
#   shared     CLIENTS readers (mode shared) on one name, wait_ms WAIT_MS
#   exclusive  CLIENTS clients on one plain lock (limit 1), wait_ms WAIT_MS: the
#              cost of contention on one name alone, beside the semaphore's
#   shallow    LIMIT clients, each on names of its own (only when CASES names
#              it): the plain lock at the semaphore's depth (as many requests
#              in flight as it has slots), what lockd and Redis spend per
#              cycle at that depth without any waiting
# and reads lockd's and redis-server's CPU time (/proc/PID/stat) and Redis's
# command count (INFO) around each, to put a cost per cycle beside the rate.
# Needs: redis-server, redis-cli, curl, python3.
#
# Environment (all optional):
#   DURATION=8 REPEATS=3 CLIENTS=16 LIMIT=4 WAIT_MS=5000
#   SKIP_BUILD=1       use the release binaries already built
#   LOCKD=path         another lockd binary (to compare builds; implies nothing about SKIP_BUILD)
#   CASES="plain semaphore"  only these cases (default: the first four; plain must be among them)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/locks
DURATION=${DURATION:-8}
REPEATS=${REPEATS:-3}
CLIENTS=${CLIENTS:-16}
LIMIT=${LIMIT:-4}
WAIT_MS=${WAIT_MS:-5000}
BIN=$ROOT/.build/release

# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
require_tools "apt-get install -y redis-server curl" redis-server redis-cli curl python3
build_release lockd lockbench

TMP=$(mktemp -d /tmp/lockd-sembench.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"
redis_commands() { redis-cli -p "$REDIS_PORT" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }

REDIS_PORT=$(free_port)
start_redis "$REDIS_PORT"
start_lockd redis "redis://127.0.0.1:$REDIS_PORT"

case_args() {
    case $1 in
        plain) echo "--clients $CLIENTS" ;;
        semaphore) echo "--clients $CLIENTS --names 1 --limit $LIMIT --wait-ms $WAIT_MS" ;;
        shared) echo "--clients $CLIENTS --names 1 --shared --wait-ms $WAIT_MS" ;;
        exclusive) echo "--clients $CLIENTS --names 1 --wait-ms $WAIT_MS" ;;
        shallow) echo "--clients $LIMIT" ;;
    esac
}
measure() {  # measure ROUND CASE
    local args lockd0 redis0 cmds0
    read -ra args <<<"$(case_args "$2")"
    lockd0=$(cpu_ticks "$LOCKD_PID"); redis0=$(cpu_ticks "$REDIS_PID"); cmds0=$(redis_commands)
    timeout --kill-after=5 $((DURATION + 30)) "$BIN/lockbench" --url "$LOCKD_URL" --duration "$DURATION" --json \
        --prefix "sem$1$2" "${args[@]}" >"$TMP/run.json" 2>>"$TMP/lockbench.log"
    kill -0 "$LOCKD_PID" 2>/dev/null || { echo "semaphores.sh: lockd exited:" >&2; tail -40 "$LOCKD_LOG" >&2; exit 1; }
    python3 - "$1" "$2" "$(($(cpu_ticks "$LOCKD_PID") - lockd0))" "$(($(cpu_ticks "$REDIS_PID") - redis0))" \
        "$(($(redis_commands) - cmds0))" "$(cut -d' ' -f1 /proc/loadavg)" "$TMP/run.json" >>"$TMP/results.jsonl" <<'EOF'
import json, os, sys
round_, case, lockd_ticks, redis_ticks, commands, load, path = sys.argv[1:]
run = json.load(open(path))
tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
cycles = max(run["cycles"], 1)
print(json.dumps({
    "round": int(round_), "case": case, "load": float(load),
    "cycles_per_second": run["cycles_per_second"],
    "errors": sum(v for v in run["errors"].values() if isinstance(v, int)) if isinstance(run.get("errors"), dict) else 0,
    "acquire_p99_ms": run["acquire"]["latency_ms"]["p99"],
    "handoff_p99_ms": (run.get("handoff") or {}).get("latency_ms", {}).get("p99"),
    "handoffs_per_second": (run.get("handoff") or {}).get("per_second"),
    "lockd_us_per_cycle": int(lockd_ticks) * tick_us / cycles,
    "redis_us_per_cycle": int(redis_ticks) * tick_us / cycles,
    "redis_commands_per_cycle": int(commands) / cycles,
}))
EOF
    echo "== round $1, $2: $(tail -1 "$TMP/results.jsonl")" >&2
}

read -ra CASES <<<"${CASES:-plain semaphore shared exclusive}"
uptime >"$TMP/load.txt"
for round in $(seq 1 "$REPEATS"); do
    for i in "${!CASES[@]}"; do
        measure "$round" "${CASES[$(((i + round - 1) % ${#CASES[@]}))]}"
    done
done
uptime >>"$TMP/load.txt"
cp "$TMP/results.jsonl" "$HERE/semaphores.jsonl"

python3 - "$TMP/results.jsonl" "$TMP/load.txt" "$HERE/RESULTS.md" "$DURATION" "$REPEATS" "$CLIENTS" "$LIMIT" "$WAIT_MS" <<'EOF'
import datetime, json, re, statistics, sys
results, load_path, md_path, duration, repeats, clients, limit, wait_ms = sys.argv[1:]
rows = [json.loads(line) for line in open(results)]
med = lambda case, key: statistics.median(r[key] for r in rows if r["case"] == case and r[key] is not None)
rounds = sorted({r["round"] for r in rows})
by = {(r["round"], r["case"]): r for r in rows}
ratio = lambda case: [by[(n, case)]["cycles_per_second"] / by[(n, "plain")]["cycles_per_second"] for n in rounds]
load = [l.strip().split("load average:")[1].strip() for l in open(load_path) if "load average" in l]
labels = {"plain": f"plain lock, {clients} clients on distinct names",
          "semaphore": f"semaphore limit {limit}, {clients} clients on one name",
          "shared": f"shared mode, {clients} readers on one name",
          "exclusive": f"(context) plain lock, {clients} clients on one name",
          "shallow": f"(context) plain lock, {limit} clients on distinct names: the semaphore's depth"}
out = ["## Semaphores and reader-writer locks (issue 12)", "",
       f"`benchmarks/locks/semaphores.sh` (DURATION={duration} REPEATS={repeats} CLIENTS={clients} LIMIT={limit} WAIT_MS={wait_ms}),",
       f"run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on the shared 2-core machine, load average {load[0]} at the start and {load[-1]} at the end;",
       "one redis-server (loopback, no persistence) and one release lockd for all cases; each round runs the cases in turn",
       f"(the order rotates per round) with `lockbench --duration {duration} --json` and the case's flags. Ratios are per round, then the median.", "",
       "| case | cycles/s vs plain (median, range) | handoff p99 | lockd CPU µs/cycle | redis CPU µs/cycle | Redis commands/cycle (incl. in scripts) |",
       "|---|---|---|---|---|---|"]
for case in labels:
    if not any(r["case"] == case for r in rows):
        continue
    rs = ratio(case)
    hp = med(case, "handoff_p99_ms") if case in ("semaphore", "exclusive") else None
    out.append(f"| {labels[case]} | " + ("100%" if case == "plain" else f"**{statistics.median(rs):.0%}** ({min(rs):.0%}–{max(rs):.0%})")
               + f" | {f'**{hp:.2f} ms**' if hp is not None else '—'} | {med(case, 'lockd_us_per_cycle'):.0f} | {med(case, 'redis_us_per_cycle'):.0f}"
               + f" | {med(case, 'redis_commands_per_cycle'):.1f} |")
out += ["", "Goal: each ≥ 70% of the plain lock's cycle rate; handoff p99 on the contended semaphore < 2 ms.",
        "Per-round figures: `benchmarks/locks/semaphores.jsonl`.", ""]
section = "\n".join(out)
text = open(md_path).read()
pattern = re.compile(r"^## Semaphores and reader-writer locks \(issue 12\)\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(md_path, "w").write(text.rstrip("\n") + "\n")
print(section)
EOF
