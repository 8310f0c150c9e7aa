#!/usr/bin/env bash
# Instructions the SDK's client process executes per withLock cycle — a figure
# the machine's other load does not move, unlike run.py's client CPU per cycle.
# Counted by valgrind's callgrind on lockd-sdk-bench (user-space instructions:
# the kernel's loopback send is not in it), once with FEW and once with MANY
# cycles per task; the difference over the extra cycles leaves start-up and
# connection set-up out. lockd (release build) runs natively, on the in-memory
# store or on a real redis-server.
#
#   benchmarks/sdk/instructions.sh                     # TASKS=16 FEW=20 MANY=220, MODE=withlock, STORE=memory
#   SDK_BENCH=/other/lockd-sdk-bench benchmarks/sdk/instructions.sh   # count another build (A/B)
#   STORE=redis MODE=withlock-try SKIP_BUILD=1 …
#   LOCKD=/other/release/lockd …   # serve from another lockd build (the client's count does not depend on it)
#   KEEP=/tmp/dumps …              # keeps the callgrind dumps (callgrind.FEW, callgrind.MANY)
#
# Prints instructions per cycle. Needs valgrind, python3, curl (and
# redis-server for STORE=redis).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TASKS=${TASKS:-16}; FEW=${FEW:-20}; MANY=${MANY:-220}; MODE=${MODE:-withlock}; STORE=${STORE:-memory}
if [[ -z ${SKIP_BUILD:-} ]]; then
    [[ -n ${LOCKD:-} ]] || swift build -c release --product lockd >&2
    [[ -n ${SDK_BENCH:-} ]] || swift build -c release --product lockd-sdk-bench >&2
fi
SDK_BENCH=${SDK_BENCH:-$ROOT/.build/release/lockd-sdk-bench}

TMP=$(mktemp -d /tmp/lockd-sdk-instructions.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$ROOT/benchmarks/lib/processes.sh"

REDIS_URL=
if [[ $STORE == redis ]]; then
    REDIS_PORT=$(free_port)
    start_redis "$REDIS_PORT"
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT
fi
LOCKD=${LOCKD:-$ROOT/.build/release/lockd} start_lockd sdk "$REDIS_URL"  # sets LOCKD_PORT

# Valgrind 3.19 cannot read the DWARF 5 Swift writes: count a copy without debug information.
objcopy --strip-debug "$SDK_BENCH" "$TMP/lockd-sdk-bench"
count() {  # count CYCLES_PER_TASK → total instructions of the client process
    valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.$1" "$TMP/lockd-sdk-bench" \
        --url "http://127.0.0.1:$LOCKD_PORT" --tasks "$TASKS" --cycles "$1" --mode "$MODE" >"$TMP/out.$1" 2>"$TMP/err.$1"
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(1 if d["errors"] else 0)' "$TMP/out.$1" \
        || { echo "$(basename "$0"): cycles failed" >&2; exit 1; }
    if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp "$TMP/callgrind.$1" "$KEEP/callgrind.$1"; fi
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/err.$1"
}
few=$(count "$FEW"); many=$(count "$MANY")
python3 -c 'import sys; few, many, cycles = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"{(many - few) / cycles:.0f} instructions per cycle ({sys.argv[4]}, {sys.argv[5]} store, {cycles} cycles counted)")' \
    "$few" "$many" "$((TASKS * (MANY - FEW)))" "$MODE" "$STORE"
