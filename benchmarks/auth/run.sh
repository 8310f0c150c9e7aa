#!/usr/bin/env bash
# Issue 15's figure: the acquire→release cycle with auth on beside auth off,
# in the same run on one Redis; writes benchmarks/auth/RESULTS.md.
#
#   benchmarks/auth/run.sh
#
# Starts its own redis-server (no persistence) and two release lockd on it —
# one with --auth-file (50 clients, each with 5 grants; lockbench presents
# the last client's secret, whose `lock` grant is its 5th), one without —
# on free loopback ports, and stops only what it started. Each round runs
# `lockbench --clients CLIENTS` for DURATION seconds against each lockd, the
# order alternating from round to round, and reads each lockd's CPU time
# (/proc/PID/stat) around its run.
# Needs: redis-server, redis-cli, curl, python3.
#
# Environment (all optional):
#   DURATION=8 REPEATS=4 CLIENTS=32
#   SKIP_BUILD=1       use the release binaries already built
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/auth
DURATION=${DURATION:-8}
REPEATS=${REPEATS:-4}
CLIENTS=${CLIENTS:-32}
BIN=$ROOT/.build/release

# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
require_tools "apt-get install -y redis-server curl" redis-server redis-cli curl python3
build_release lockd lockbench

TMP=$(mktemp -d /tmp/lockd-authbench.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"

# 50 clients of 5 grants each, made by lockd new-client as an operator would.
entries=()
for i in $(seq 1 50); do
    out=$("$BIN/lockd" new-client "svc-$i" --grant "read=team$i:*" --grant "read,lock=jobs$i:*" --grant "admin=team$i:admin" \
        --grant "read=reports" --grant "lock=bench$i:*")
    entries+=("$(sed -n 4p <<<"$out")")
    SECRET=$(sed -n 2p <<<"$out")
done
(IFS=,; printf '{"clients": [%s]}\n' "${entries[*]}") >"$TMP/auth.json"

REDIS_PORT=$(free_port)
start_redis "$REDIS_PORT"
# Each lockd's PID and port, read by name (PID_<case>, PORT_<case>) in measure.
# shellcheck disable=SC2034
{
    start_lockd on "redis://127.0.0.1:$REDIS_PORT" --auth-file "$TMP/auth.json"
    PID_on=$LOCKD_PID PORT_on=$LOCKD_PORT
    start_lockd off "redis://127.0.0.1:$REDIS_PORT"
    PID_off=$LOCKD_PID PORT_off=$LOCKD_PORT
}

measure() {  # measure ROUND CASE
    local round=$1 case=$2 pid port ticks0 auth=()
    pid=PID_$case; pid=${!pid}; port=PORT_$case; port=${!port}
    [[ $case == on ]] && auth=(--auth-token "$SECRET")
    ticks0=$(cpu_ticks "$pid")
    timeout --kill-after=5 $((DURATION + 30)) "$BIN/lockbench" --url "http://127.0.0.1:$port" --duration "$DURATION" --json \
        --clients "$CLIENTS" --prefix "bench50:r$round$case" "${auth[@]}" >"$TMP/run.json" 2>>"$TMP/lockbench.log"
    kill -0 "$pid" 2>/dev/null || { echo "auth/run.sh: lockd ($case) exited:" >&2; tail -40 "$TMP/lockd-$case.log" >&2; exit 1; }
    python3 - "$round" "$case" "$(($(cpu_ticks "$pid") - ticks0))" "$(cut -d' ' -f1 /proc/loadavg)" "$TMP/run.json" \
        >>"$TMP/results.jsonl" <<'EOF'
import json, os, sys
round_, case, ticks, load, path = sys.argv[1:]
run = json.load(open(path))
errors = run.get("errors") or {}
print(json.dumps({
    "round": int(round_), "auth": case, "load": float(load),
    "cycles_per_second": run["cycles_per_second"],
    "errors": sum(v for v in errors.values() if isinstance(v, int)) if isinstance(errors, dict) else 0,
    "lockd_us_per_cycle": int(ticks) * 1e6 / os.sysconf("SC_CLK_TCK") / max(run["cycles"], 1),
}))
EOF
    echo "== round $round, auth $case: $(tail -1 "$TMP/results.jsonl")" >&2
}

uptime >"$TMP/load.txt"
for round in $(seq 1 "$REPEATS"); do
    if ((round % 2)); then measure "$round" off; measure "$round" on; else measure "$round" on; measure "$round" off; fi
done
uptime >>"$TMP/load.txt"
cp "$TMP/results.jsonl" "$HERE/results.jsonl"

python3 - "$TMP/results.jsonl" "$TMP/load.txt" "$HERE/RESULTS.md" "$DURATION" "$REPEATS" "$CLIENTS" <<'EOF'
import datetime, json, statistics, sys
results, load_path, md_path, duration, repeats, clients = sys.argv[1:]
rows = [json.loads(line) for line in open(results)]
by = {(r["round"], r["auth"]): r for r in rows}
rounds = sorted({r["round"] for r in rows})
ratios = [by[(n, "on")]["cycles_per_second"] / by[(n, "off")]["cycles_per_second"] for n in rounds]
cpu = lambda case: statistics.median(r["lockd_us_per_cycle"] for r in rows if r["auth"] == case)
rate = lambda case: statistics.median(r["cycles_per_second"] for r in rows if r["auth"] == case)
errors = sum(r["errors"] for r in rows)
load = [l.strip().split("load average:")[1].strip() for l in open(load_path) if "load average" in l]
open(md_path, "w").write("\n".join([
    "# Auth on beside auth off (issue 15)", "",
    f"`benchmarks/auth/run.sh` (DURATION={duration} REPEATS={repeats} CLIENTS={clients}), run",
    f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on the shared 2-core machine, load average {load[0]} at the start and {load[-1]} at the end.",
    "One redis-server (loopback, no persistence) and two release lockd on it: one with `--auth-file` (50 clients, 5 grants",
    "each; lockbench presents the last client's secret, whose `lock` grant is its 5th), one without. Each round runs",
    f"`lockbench --clients {clients} --duration {duration}` (acquire→release on distinct names) against both, the order alternating.", "",
    "| | auth off | auth on |", "|---|---|---|",
    f"| cycles/s, rate vs auth off (median of rounds) | 100% | **{statistics.median(ratios):.1%}** ({min(ratios):.1%}–{max(ratios):.1%}) |",
    f"| lockd CPU µs per cycle (median) | {cpu('off'):.1f} | {cpu('on'):.1f} ({cpu('on') / cpu('off') - 1:+.1%}) |",
    f"| errors over all runs | | {errors} |", "",
    "Goal: auth on ≥ 95% of the rate without auth. Absolute rates are not comparable across runs on this shared",
    f"machine (this run's medians: {rate('off'):.0f} and {rate('on'):.0f} cycles/s). Per-round figures: `benchmarks/auth/results.jsonl`.", "",
]))
print(open(md_path).read())
EOF
