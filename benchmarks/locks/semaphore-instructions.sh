#!/usr/bin/env bash
# Instructions lockd executes per acquire → release cycle in issue 12's
# cases, counted by valgrind's callgrind (a figure the machine's other load
# does not move): the plain lock (CLIENTS clients on names of their own), the
# contended semaphore (CLIENTS clients on one name, limit LIMIT, wait_ms
# 5000) and the plain lock at the semaphore's depth (LIMIT clients on names of
# their own: as many requests in flight as the semaphore has slots).
# As instructions.sh: lockd-instructions-bench (lockd's own composition) on a
# real redis-server, under callgrind, EVENT_LOOPS loops (default 1: the
# counts then do not depend on how connections spread over loops); here
# lockbench drives it (WARMUP seconds, then DURATION seconds counted: counting
# is zeroed before and dumped after, and divided by the cycles lockbench
# read). Under valgrind lockd runs ~50× slower, so the depth each case reaches
# is its own, not what a real lockd reaches.
#
#   benchmarks/locks/semaphore-instructions.sh
#   BIN=/other/.build/release benchmarks/locks/semaphore-instructions.sh   # another build's lockd-instructions-bench and lockbench
#   KEEP=/tmp/dumps …   # keeps the dumps (callgrind.CASE)
#   CASES="plain semaphore" EVENT_LOOPS=2 DURATION=8 WARMUP=3 CLIENTS=16 LIMIT=4
# Needs valgrind, redis-server, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.build/release}
CASES=${CASES:-plain semaphore shallow}
EVENT_LOOPS=${EVENT_LOOPS:-1}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-16}
LIMIT=${LIMIT:-4}
if [[ -z ${SKIP_BUILD:-} && $BIN == "$ROOT/.build/release" ]]; then
    swift build -c release --product lockd-instructions-bench >&2
    swift build -c release --product lockbench >&2
fi

TMP=$(mktemp -d /tmp/lockd-seminstr.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$ROOT/benchmarks/lib/processes.sh"
REDIS_PORT=$(free_port); LOCKD_PORT=$(free_port)
start_redis "$REDIS_PORT"
# Valgrind 3.19 cannot read the DWARF 5 Swift writes (see instructions.sh).
objcopy --strip-debug "$BIN/lockd-instructions-bench" "$TMP/lockd"
valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$TMP/callgrind.%p" \
    "$TMP/lockd" "127.0.0.1:$LOCKD_PORT" "redis://127.0.0.1:$REDIS_PORT" "$EVENT_LOOPS" >"$TMP/lockd.log" 2>&1 &
LOCKD_PID=$!
PIDS+=("$LOCKD_PID")
alive_and_ready() { kill -0 "$LOCKD_PID" && curl -sf "http://127.0.0.1:$LOCKD_PORT/healthz"; }
wait_until 120 alive_and_ready || { cat "$TMP/lockd.log" >&2; exit 1; }

case_args() {
    case $1 in
        plain) echo "--clients $CLIENTS" ;;
        semaphore) echo "--clients $CLIENTS --names 1 --limit $LIMIT --wait-ms 5000" ;;
        shallow) echo "--clients $LIMIT" ;;
        *) echo "semaphore-instructions.sh: unknown case $1" >&2; exit 2 ;;
    esac
}
echo "lockd: $BIN/lockd-instructions-bench, $EVENT_LOOPS event loop(s), redis store"
for name in $CASES; do
    read -ra args <<<"$(case_args "$name")"
    "$BIN/lockbench" --url "http://127.0.0.1:$LOCKD_PORT" --duration "$WARMUP" --prefix "warm-$name" "${args[@]}" >/dev/null 2>&1
    callgrind_control --zero "$LOCKD_PID" >/dev/null 2>&1
    "$BIN/lockbench" --url "http://127.0.0.1:$LOCKD_PORT" --duration "$DURATION" --json --prefix "count-$name" "${args[@]}" \
        >"$TMP/$name.json" 2>/dev/null
    callgrind_control --dump="$name" "$LOCKD_PID" >/dev/null 2>&1
    dump=$(ls -t "$TMP"/callgrind.* | head -1)
    instructions=$(awk '/^summary:/ {print $2; exit}' "$dump")
    if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/callgrind.$name"; fi
    python3 - "$name" "$instructions" "$TMP/$name.json" "${args[*]}" <<'PY'
import json, sys
name, instructions, path, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cycles = json.load(open(path))["cycles"]
print(f"{name:10} ({args}): {cycles} cycles, {instructions / max(cycles, 1):,.0f} instructions per cycle")
PY
done
