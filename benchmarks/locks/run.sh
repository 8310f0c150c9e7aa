#!/usr/bin/env bash
# Reruns every lock benchmark in one go and writes benchmarks/locks/RESULTS.md.
#
#   benchmarks/locks/run.sh
#
# Starts its own redis-server, lockd (--redis) and etcd on free loopback
# ports in a temp dir, runs each measurement for DURATION seconds, REPEATS
# times with the systems interleaved, and stops only what it started.
# Needs: redis-server, redis-benchmark, redis-cli, etcd (etcd-server), wrk,
# curl, python3 — `apt-get install -y redis-server etcd-server wrk curl`.
#
# Environment (all optional):
#   DURATION=10        seconds per measurement
#   REPEATS=3          rounds; RESULTS.md reports medians
#   CLIENTS="32 64"    concurrency levels for the uncontended runs
#   CONTENDED_CLIENTS=64 CONTENDED_NAMES=4 WAIT_MS=5000
#   WRK=1              also drive lockd with wrk + lockd-cycle.lua
#   SKIP_BUILD=1       use the release binaries already built
#   LOCKD_STORE=redis  or "memory" to run lockd without Redis (no floor then)
#   ANCHORS=…          shared/anchors (etcd-lock-cycle.lua); default ../shared/anchors
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/locks
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
CLIENTS=${CLIENTS:-"32 64"}
CONTENDED_CLIENTS=${CONTENDED_CLIENTS:-64}
CONTENDED_NAMES=${CONTENDED_NAMES:-4}
WAIT_MS=${WAIT_MS:-5000}
WRK=${WRK:-1}
LOCKD_STORE=${LOCKD_STORE:-redis}
export ANCHORS=${ANCHORS:-$(cd "$ROOT/.." && pwd)/shared/anchors}
BIN=$ROOT/.build/release

# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
require_tools "apt-get install -y redis-server etcd-server wrk curl" redis-server redis-cli redis-benchmark etcd wrk curl python3
[[ -f $ANCHORS/etcd-lock-cycle.lua ]] || { echo "run.sh: no etcd-lock-cycle.lua in ANCHORS=$ANCHORS" >&2; exit 1; }

build_release lockd lockbench

TMP=$(mktemp -d /tmp/lockd-bench.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"
cleanup() {
    stop_etcd
    stop_started
}
log() {
    echo "== $*" >&2
    # A benchmark of a server that died is no benchmark: stop and show why.
    if [[ -n ${LOCKD_PID:-} ]] && ! kill -0 "$LOCKD_PID" 2>/dev/null; then
        echo "run.sh: lockd exited; its log:" >&2
        tail -40 "$LOCKD_LOG" >&2
        exit 1
    fi
}
record() { python3 "$HERE/report.py" record "$TMP/results.jsonl" "$@"; }
bounded() { timeout --kill-after=5 $((DURATION + 60)) "$@"; }

# --- servers ------------------------------------------------------------------
REDIS_PORT=$(free_port)
ETCD_PORT=$(free_port)
ETCD_PEER=$(free_port)
ETCD_URL=http://127.0.0.1:$ETCD_PORT

start_redis "$REDIS_PORT"
# Sets LOCKD_PORT, LOCKD_URL and LOCKD_PID.
start_lockd main "$([[ $LOCKD_STORE == redis ]] && echo "redis://127.0.0.1:$REDIS_PORT")"

# etcd starts afresh (empty data dir) for each measurement: wrk stops
# mid-cycle, and the waiters it leaves behind slow etcd's later lock runs to
# a crawl (a third back-to-back contended run managed 0.3 cycles/s).
ETCD_PID=
start_etcd() {
    stop_etcd
    rm -rf "$TMP/etcd"
    etcd --name bench --data-dir "$TMP/etcd" \
        --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
        --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER" --log-level error >>"$TMP/etcd.log" 2>&1 &
    ETCD_PID=$!
    wait_until 20 curl -sf "$ETCD_URL/health"
}
stop_etcd() {
    [[ -n $ETCD_PID ]] || return 0
    kill "$ETCD_PID" 2>/dev/null || true
    wait "$ETCD_PID" 2>/dev/null || true
    ETCD_PID=
}

# --- the Redis floor: lockd's own script calls, replayed by redis-benchmark ---
if [[ $LOCKD_STORE == redis ]]; then
    log "capturing lockd's EVALSHA calls for one acquire and one release"
    python3 "$HERE/redis-floor.py" capture "$REDIS_PORT" "$LOCKD_URL" >"$TMP/floor.json"
fi
# The floor's keys live in a database of their own (lockd uses 0), emptied
# after each measurement: otherwise Redis's active expiry of the leases it
# leaves behind would run during lockd's next measurement.
FLOOR_DB=9
floor() {  # floor REPEAT CLIENTS
    [[ $LOCKD_STORE == redis ]] || return 0
    local args
    mapfile -t args < <(python3 "$HERE/redis-floor.py" acquire-args "$TMP/floor.json" "a$1c$2")
    bounded redis-benchmark -p "$REDIS_PORT" --dbnum "$FLOOR_DB" -c "$2" -n $((DURATION * 20000)) -r 10000000 -q "${args[@]}" 2>&1 \
        | tr '\r' '\n' | grep 'requests per second' | tail -1 | record redis "$1" redis-floor acquire "$2"
    # Releases need held leases: take them first with the same script.
    python3 "$HERE/redis-floor.py" hold "$TMP/floor.json" "r$1c$2" 150000 | redis-cli -p "$REDIS_PORT" -n "$FLOOR_DB" --pipe >/dev/null
    mapfile -t args < <(python3 "$HERE/redis-floor.py" release-args "$TMP/floor.json" "r$1c$2")
    bounded redis-benchmark -p "$REDIS_PORT" --dbnum "$FLOOR_DB" -c "$2" -n 50000 -r 150000 -q "${args[@]}" 2>&1 \
        | tr '\r' '\n' | grep 'requests per second' | tail -1 | record redis "$1" redis-floor release "$2"
    redis-cli -p "$REDIS_PORT" -n "$FLOOR_DB" flushdb >/dev/null
}

lockbench() { bounded "$BIN/lockbench" --url "$LOCKD_URL" --duration "$DURATION" --json "$@" 2>>"$TMP/lockbench.log"; }
etcd_cycle() {  # etcd_cycle REPEAT CASE CLIENTS NAMES
    local latdir=$TMP/etcd-lat-$1-$2-$3
    mkdir -p "$latdir"
    start_etcd
    bounded wrk -t"$3" -c"$3" -d"${DURATION}s" --timeout 30s -s "$ANCHORS/etcd-lock-cycle.lua" "$ETCD_URL" \
        -- "$4" "$3" "bench$1$2$3" "$latdir" 2>&1 | record wrk "$1" etcd "$2" "$3" "$latdir"
    stop_etcd
}

# --- measurements, interleaved per repeat ------------------------------------
for repeat in $(seq 1 "$REPEATS"); do
    echo "repeat $repeat: load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/load.txt"
    for clients in $CLIENTS; do
        log "repeat $repeat, $clients clients, uncontended"
        lockbench --clients "$clients" --names 1000 --prefix "bench$repeat" | record lockbench "$repeat" lockd/lockbench uncontended "$clients"
        floor "$repeat" "$clients"
        if [[ $WRK == 1 ]]; then
            bounded wrk -t"$clients" -c"$clients" -d"${DURATION}s" -s "$HERE/lockd-cycle.lua" "$LOCKD_URL" \
                -- 1000 "$clients" "wrk${repeat}c$clients" 0 2>&1 | record wrk "$repeat" lockd/wrk uncontended "$clients"
        fi
        etcd_cycle "$repeat" uncontended "$clients" 1000
    done
    log "repeat $repeat, $CONTENDED_CLIENTS clients on $CONTENDED_NAMES names"
    lockbench --clients "$CONTENDED_CLIENTS" --names "$CONTENDED_NAMES" --wait-ms "$WAIT_MS" --prefix "contended$repeat" \
        | record lockbench "$repeat" lockd/lockbench contended "$CONTENDED_CLIENTS"
    etcd_cycle "$repeat" contended "$CONTENDED_CLIENTS" "$CONTENDED_NAMES"
    log "repeat $repeat, wake-up after expiry"
    timeout 120 python3 "$HERE/expiry-wakeup.py" "$LOCKD_URL" 20 200 | record expiry "$repeat" lockd/expiry expiry 2
done

# --- report ------------------------------------------------------------------
log "all measurements done"
echo "end: load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/load.txt"
python3 - "$TMP/meta.json" <<EOF
import json, platform, subprocess, sys, datetime
def ver(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception: return "?"
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "machine": f"{platform.machine()}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, Linux {platform.release()}",
    "versions": "; ".join([ver("redis-server --version"), ver("etcd --version"), ver("wrk --version 2>&1"), ver("swift --version 2>&1")]),
    "store": "Redis (redis-server started by run.sh, no persistence)" if "$LOCKD_STORE" == "redis" else "in-memory (LOCKD_STORE=memory: no Redis floor)",
    "load": open("$TMP/load.txt").read().strip().splitlines(),
    "duration": $DURATION, "clients": [int(c) for c in "$CLIENTS".split()],
    "contended_clients": $CONTENDED_CLIENTS, "contended_names": $CONTENDED_NAMES, "wait_ms": $WAIT_MS,
    "notes": [
        "lockd: release build, one epoll loop per core, started with --log-level warning; lockbench: one event-loop thread, one keep-alive connection per client, 1000 names split so no two clients share one (uncontended).",
        "Redis floor: redis-benchmark (single connection per client, unpipelined) replaying the exact EVALSHA calls lockd made for one acquire and one release (captured with MONITOR), the lock name replaced by random 12-digit names (-r), in a Redis database of their own that is emptied after each measurement. Acquires go to fresh names; releases go to leases taken just before with the same script and token (about 85% find a lease to delete (150 000 leases taken, 50 000 releases drawn at random), the rest take the cheaper not-held path, so the release floor is slightly optimistic). Floor for a cycle = 1/(1/acquire rate + 1/release rate).",
        "etcd: 3.4, one member started afresh (empty data dir on disk, default fsync) for each measurement, lock cycle over the JSON gateway (lease grant, lock, unlock, revoke) with shared/anchors/etcd-lock-cycle.lua under wrk -tN -cN; contended etcd handoffs/s = its cycles/s on the shared names (every lock there is queued behind another).",
        "wrk + lockd-cycle.lua: the same acquire/release cycle in wrk's Lua, one thread per connection (a stateful cycle needs it), as a cross-check of lockbench.",
        "All servers and load generators share the same 2 cores, so each figure includes the cost of the load generator.",
    ],
}, open(sys.argv[1], "w"), indent=1)
EOF
cp "$TMP/results.jsonl" "$HERE/results.jsonl"
# Sections after the "kept by run.sh" marker (such as compare-builds.py's
# figures) are carried over into the new RESULTS.md.
kept=$(sed -n '/^<!-- kept by run.sh/,$p' "$HERE/RESULTS.md" 2>/dev/null || true)
python3 "$HERE/report.py" render "$TMP/results.jsonl" "$TMP/meta.json" >"$HERE/RESULTS.md"
if [[ -n $kept ]]; then printf '\n%s\n' "$kept" >>"$HERE/RESULTS.md"; fi
log "wrote $HERE/RESULTS.md"
