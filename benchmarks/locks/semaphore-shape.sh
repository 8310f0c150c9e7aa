#!/usr/bin/env bash
# Issue 12: is the contended semaphore's rate bound by its shape (how many
# request chains circulate) rather than by CPU? Runs, on one redis-server and
# one lockd, interleaved and in an order that rotates per round:
#   plain4 plain8 plain16   plain locks, N clients on distinct names
#   sem4x16 sem8x16 sem8x32 semaphore limit L, N clients on one name
#   shared16                16 readers on one name
# and prints per case: cycles/s, the per-cycle latencies (acquire, release,
# handoff means; a client's cycle by Little's law = clients / rate; a slot's
# cycle = limit / rate), and the CPU lockd, redis-server and lockbench used
# (/proc and lockbench's own figure) beside the machine's total (/proc/stat),
# as % of one core (the machine has 2: 200%). Appends its rows to
# benchmarks/locks/semaphore-shape.jsonl.
#
#   flock /work/wt/bench.lock benchmarks/locks/semaphore-shape.sh
#
# Environment: DURATION=5 REPEATS=3 CASES="…" LOCKD=path SKIP_BUILD=1 (as semaphores.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-5}
REPEATS=${REPEATS:-3}
BIN=$ROOT/.build/release
# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
build_release lockd lockbench

TMP=$(mktemp -d /tmp/lockd-semshape.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

REDIS_PORT=$(free_port)
start_redis "$REDIS_PORT"
start_lockd redis "redis://127.0.0.1:$REDIS_PORT"

case_args() {
    case $1 in
        plain*) echo "--clients ${1#plain}" ;;
        sem*) local l=${1#sem}; echo "--clients ${l#*x} --names 1 --limit ${l%x*} --wait-ms 5000" ;;
        shared*) echo "--clients ${1#shared} --names 1 --shared --wait-ms 5000" ;;
    esac
}
measure() {  # measure ROUND CASE
    local args lockd0 redis0 busy0 wall0
    read -ra args <<<"$(case_args "$2")"
    lockd0=$(cpu_ticks "$LOCKD_PID"); redis0=$(cpu_ticks "$REDIS_PID"); busy0=$(busy_ticks); wall0=$(date +%s%N)
    timeout --kill-after=5 $((DURATION + 30)) "$BIN/lockbench" --url "$LOCKD_URL" --duration "$DURATION" --json \
        --prefix "shape$1$2" "${args[@]}" >"$TMP/run.json" 2>>"$TMP/lockbench.log"
    python3 - "$1" "$2" "$(($(cpu_ticks "$LOCKD_PID") - lockd0))" "$(($(cpu_ticks "$REDIS_PID") - redis0))" \
        "$(($(busy_ticks) - busy0))" "$(($(date +%s%N) - wall0))" "$TMP/run.json" >>"$TMP/results.jsonl" <<'EOF'
import json, os, sys
round_, case, lockd, redis, busy, wall_ns, path = sys.argv[1:]
run = json.load(open(path))
tick = 1 / os.sysconf("SC_CLK_TCK")
# The ticks cover lockbench's whole process (start and drain too), so are
# shares of that wall time; lockbench's own figure is over its window.
secs = int(wall_ns) / 1e9
mean = lambda part: ((run.get(part) or {}).get("latency_ms") or {}).get("mean")
print(json.dumps({
    "round": int(round_), "case": case, "cycles_per_second": run["cycles_per_second"],
    "acquire_ms": mean("acquire"), "release_ms": mean("release"), "handoff_ms": mean("handoff"),
    "lockd_pct": 100 * int(lockd) * tick / secs, "redis_pct": 100 * int(redis) * tick / secs,
    "lockbench_pct": run["lockbench_cpu_percent"], "machine_pct": 100 * int(busy) * tick / secs,
    "errors": sum(v for v in run["errors"].values() if isinstance(v, int)) if isinstance(run.get("errors"), dict) else 0,
}))
EOF
    echo "== round $1, $2: $(tail -1 "$TMP/results.jsonl")" >&2
}

RUN=$(date -u +%FT%H:%MZ)
read -ra CASES <<<"${CASES:-plain4 plain8 plain16 sem4x16 sem8x16 sem8x32 shared16}"
for round in $(seq 1 "$REPEATS"); do
    for i in "${!CASES[@]}"; do
        measure "$round" "${CASES[$(((i + round - 1) % ${#CASES[@]}))]}"
    done
done
# Each run's rows are kept, tagged with the run's start.
sed "s/^{/{\"run\": \"$RUN\", /" "$TMP/results.jsonl" >>"$ROOT/benchmarks/locks/semaphore-shape.jsonl"

python3 - "$TMP/results.jsonl" <<'EOF'
import json, re, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cases = list(dict.fromkeys(r["case"] for r in rows))
med = lambda c, k: statistics.median(r[k] for r in rows if r["case"] == c and r[k] is not None) if any(r["case"] == c and r[k] is not None for r in rows) else None
by = {(r["round"], r["case"]): r for r in rows}
rounds = sorted({r["round"] for r in rows})
def shape(c):
    n = re.findall(r"\d+", c)
    return (int(n[-1]), int(n[0]) if c.startswith("sem") else None)
print("| case | cycles/s (median) | vs plain16 (per round) | client cycle ms (N/rate) | slot cycle ms (L/rate) | acquire / release / handoff mean ms | lockd + redis + lockbench % | CPU µs a cycle | machine % |")
print("|---|---:|---|---:|---:|---|---|---:|---:|")
for c in cases:
    clients, limit = shape(c)
    rate = med(c, "cycles_per_second")
    rs = [by[(n, c)]["cycles_per_second"] / by[(n, "plain16")]["cycles_per_second"] for n in rounds if (n, "plain16") in by and (n, c) in by]
    ratio = f"{statistics.median(rs):.0%} ({min(rs):.0%}–{max(rs):.0%})" if rs else "—"
    f = lambda v: "—" if v is None else f"{v:.3f}"
    slot = f"{1000 * limit / rate:.3f}" if limit else "—"
    print(f"| {c} | {rate:,.0f} | {ratio} | {1000 * clients / rate:.3f} | {slot} | {f(med(c, 'acquire_ms'))} / {f(med(c, 'release_ms'))} / {f(med(c, 'handoff_ms'))}"
          f" | {med(c, 'lockd_pct'):.0f} + {med(c, 'redis_pct'):.0f} + {med(c, 'lockbench_pct'):.0f} = {med(c, 'lockd_pct') + med(c, 'redis_pct') + med(c, 'lockbench_pct'):.0f}"
          f" | {statistics.median(1e4 * (r['lockd_pct'] + r['redis_pct'] + r['lockbench_pct']) / r['cycles_per_second'] for r in rows if r['case'] == c):.0f} | {med(c, 'machine_pct'):.0f} |")
EOF
