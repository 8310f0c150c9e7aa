#!/usr/bin/env bash
# Compressed responses, measured from outside, in one run:
#   1. GET /metrics and a 100-lock GET /locks page, with and without
#      `Accept-Encoding: gzip`: bytes on the wire per response (wrk's byte
#      count: head and body) and lockd CPU per request (/proc/PID/stat
#      around each wrk run);
#   2. the acquire→release cycle rate (lockbench) of this lockd against a
#      lockd built from a tree without compression (BASE_LOCKD), alternated
#      CYCLE_ROUNDS times, and — since other processes' load blurs a 3%
#      difference in that rate — the CPU CompressingResponder adds to a
#      lease-sized acquire and release in process (lockd-gzip-bench);
#   3. zlib's cost per level on the same two bodies, and what a gzip event
#      stream would cost (event-stream.py), for the README's streaming decision.
# Writes benchmarks/gzip/RESULTS.md.
#
#   git -C /work/main archive main | tar -x -C /tmp/base-gzip
#   (cd /tmp/base-gzip && swift build -c release --product lockd)
#   BASE_LOCKD=/tmp/base-gzip/.build/release/lockd benchmarks/gzip/run.sh
#
# Needs redis-server, redis-cli, wrk, curl, python3. Starts its own Redis and
# lockds on free loopback ports and stops only what it started.
#
# Environment (all optional):
#   DURATION=10      seconds per measurement
#   REPEATS=3        rounds of the GET measurements; RESULTS.md has medians
#   CYCLE_ROUNDS=10  pairs of lock-cycle runs (gzip, base), CYCLE_DURATION=5 s each
#   CLIENTS=32       lockbench clients (one connection each, 1000 names)
#   CONNECTIONS=16   wrk connections for the GET runs (2 threads)
#   SKIP_BUILD=1     use the release binaries already built
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/gzip
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
CYCLE_ROUNDS=${CYCLE_ROUNDS:-10}
CYCLE_DURATION=${CYCLE_DURATION:-5}
CLIENTS=${CLIENTS:-32}
CONNECTIONS=${CONNECTIONS:-16}
BIN=$ROOT/.build/release
: "${BASE_LOCKD:?set BASE_LOCKD to a lockd built without compression (see the header)}"

# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
require_tools "" redis-server redis-cli wrk curl python3
build_release lockd lockbench lockd-gzip-bench

TMP=$(mktemp -d /tmp/lockd-gzip-bench.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"
bounded() { timeout --kill-after=5 $((DURATION + 60)) "$@"; }
record() { echo "$1" >>"$TMP/results.jsonl"; }

REDIS_PORT=$(free_port)
start_redis "$REDIS_PORT"
start_lockd new "redis://127.0.0.1:$REDIS_PORT"
NEW_PORT=$LOCKD_PORT NEW_PID=$LOCKD_PID NEW_URL=$LOCKD_URL
LOCKD=$BASE_LOCKD start_lockd base "redis://127.0.0.1:$REDIS_PORT"
BASE_PORT=$LOCKD_PORT BASE_PID=$LOCKD_PID

# 100 held locks (owner labels as a worker pool would set them) for the list page.
for index in $(seq 1 100); do
    curl -sf -o /dev/null -X POST "$NEW_URL/locks/page:orders:$index" \
        -d "{\"ttl_ms\":3600000,\"owner\":\"billing-worker-$index\"}"
done
# One scrape first, so every route's series exists in /metrics.
curl -sf -o /dev/null "$NEW_URL/metrics"
LIST_PATH="/locks?prefix=page:&limit=100"

get_run() {  # get_run REPEAT ROUTE PATH ENCODING
    local accept=()
    [[ $4 == gzip ]] && accept=(-H "Accept-Encoding: gzip")
    local before after
    before=$(cpu_ticks "$NEW_PID")
    bounded wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "${accept[@]}" -s "$HERE/count-bytes.lua" "$NEW_URL$3" >"$TMP/wrk.out" 2>&1
    after=$(cpu_ticks "$NEW_PID")
    local requests bytes
    requests=$(sed -n 's/^RESULT requests=\([0-9]*\) bytes=\([0-9]*\).*/\1/p' "$TMP/wrk.out")
    bytes=$(sed -n 's/^RESULT requests=\([0-9]*\) bytes=\([0-9]*\).*/\2/p' "$TMP/wrk.out")
    # The response's own headers, to show what went out.
    local encoding
    encoding=$(curl -s -o /dev/null -D - "${accept[@]}" "$NEW_URL$3" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-encoding" { print $2 }')
    record "{\"kind\":\"get\",\"repeat\":$1,\"route\":\"$2\",\"encoding\":\"$4\",\"sent\":\"${encoding:-identity}\",\"requests\":$requests,\"bytes\":$bytes,\"ticks\":$((after - before)),\"seconds\":$DURATION}"
}

cycle_run() {  # cycle_run REPEAT SYSTEM PORT PID
    local before after
    before=$(cpu_ticks "$4")
    bounded "$BIN/lockbench" --url "http://127.0.0.1:$3" --clients "$CLIENTS" --names 1000 \
        --prefix "cycle-$2-$1" --duration "$CYCLE_DURATION" --json >"$TMP/lockbench.json" 2>>"$TMP/lockbench.log"
    after=$(cpu_ticks "$4")
    python3 - "$1" "$2" "$((after - before))" "$TMP/lockbench.json" >>"$TMP/results.jsonl" <<'EOF'
import json, sys
s = json.load(open(sys.argv[4]))
failures = {k: v for k, v in s["errors"].items() if v}
for step in ("acquire", "release"):
    failures.update({f"{step} {k}": v for k, v in s[step]["statuses"].items() if k != "success" and v})
print(json.dumps({"kind": "cycle", "repeat": int(sys.argv[1]), "system": sys.argv[2], "cycles": s["cycles"],
                  "cycles_per_s": s["cycles_per_second"], "ticks": int(sys.argv[3]), "failures": failures}))
EOF
}

for repeat in $(seq 1 "$REPEATS"); do
    echo "GET repeat $repeat: load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/load.txt"
    for route in metrics list; do
        path=/metrics
        [[ $route == list ]] && path=$LIST_PATH
        for encoding in identity gzip; do
            echo "== repeat $repeat: GET $route, $encoding" >&2
            get_run "$repeat" "$route" "$path" "$encoding"
        done
    done
done
for round in $(seq 1 "$CYCLE_ROUNDS"); do
    echo "cycle round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/load.txt"
    # Alternate which lockd goes first, so neither always runs on a warmer machine.
    systems=(gzip base)
    ((round % 2 == 0)) && systems=(base gzip)
    for system in "${systems[@]}"; do
        echo "== round $round: lock cycle, $system" >&2
        if [[ $system == gzip ]]; then cycle_run "$round" gzip "$NEW_PORT" "$NEW_PID"
        else cycle_run "$round" base "$BASE_PORT" "$BASE_PID"; fi
    done
done
echo "== CompressingResponder in process (lockd-gzip-bench)" >&2
"$BIN/lockd-gzip-bench" | python3 -c '
import json, sys
for line in sys.stdin:
    name, *pairs = line.split()
    print(json.dumps({"kind": name, **{k: float(v) for k, v in (p.split("=") for p in pairs)}}))
' >>"$TMP/results.jsonl"
echo "end: load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/load.txt"

echo "== zlib levels on the two bodies; the event stream" >&2
curl -sf -o "$TMP/metrics.txt" "$NEW_URL/metrics"
curl -sf -o "$TMP/list.json" "$NEW_URL$LIST_PATH"
python3 "$HERE/event-stream.py" levels "$TMP/metrics.txt" "$TMP/list.json" >>"$TMP/results.jsonl"
python3 "$HERE/event-stream.py" stream >>"$TMP/results.jsonl"

cp "$TMP/results.jsonl" "$HERE/results.jsonl"
python3 "$HERE/report.py" "$HERE/results.jsonl" "$TMP/load.txt" "$DURATION" "$CLIENTS" "$CONNECTIONS" "$CYCLE_DURATION" >"$HERE/RESULTS.md"
echo "== wrote $HERE/RESULTS.md" >&2
