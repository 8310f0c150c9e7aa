#!/usr/bin/env bash
# What an in-memory POST /locks/{fresh name} costs once many leases are live
# and expiring — the shape syscalls.sh STORE=memory measures with wrk, whose
# user µs move ±5–20% with the machine's other load — counted by callgrind
# with a cache model, so two builds compare on a shared machine: instructions,
# D1 and last-level misses per POST. instructions.sh's 4 000 requests from
# empty never reach this shape: no lease expires there, no sweep removes one.
#
# lockd-instructions-bench (one loop, the in-memory store) under callgrind
# (--cache-sim, a LL of LL_BYTES, 1 MiB by default: the tables here hold
# ~10^4 leases, production's ~10^5 against a larger cache) is sent FILL POSTs
# on fresh names with {"ttl_ms":TTL_MS} (pipelined 16 deep on one
# connection), then MEASURE more, counted. With TTL_MS=5000 the measured
# POSTs run while the first ones expire: the store's sweeps and the lease
# ledger's expiries fall in the window. A sweep every ~10^4 POSTs makes the
# totals move ~±5% with how many fall in it: compare a function's cost per
# record it removes (callgrind_annotate --inclusive=yes on KEEP's dump), or
# take several runs.
#
#   benchmarks/locks/live-leases.sh                       # .build/release/lockd-instructions-bench
#   LOCKD=/tmp/other/lockd-instructions-bench KEEP=/tmp/dump benchmarks/locks/live-leases.sh
#   TTL_MS=20000 FILL=30000 MEASURE=10000 …                # more leases live, fewer expiring
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOCKD=${LOCKD:-$ROOT/.build/release/lockd-instructions-bench}
TTL_MS=${TTL_MS:-5000}
FILL=${FILL:-20000}
MEASURE=${MEASURE:-20000}
LL_BYTES=${LL_BYTES:-1048576}
TMP=$(mktemp -d /tmp/lockd-live-leases.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$ROOT/benchmarks/lib/processes.sh"

LOCKD_PORT=$(free_port)
# Valgrind 3.19 cannot read the DWARF 5 Swift writes (as instructions.sh).
objcopy --strip-debug "$LOCKD" "$TMP/lockd"
valgrind --tool=callgrind --cache-sim=yes --LL="$LL_BYTES,16,64" --D1=32768,8,64 --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$TMP/callgrind.%p" "$TMP/lockd" "127.0.0.1:$LOCKD_PORT" memory 1 >"$TMP/lockd.log" 2>&1 &
LOCKD_PID=$!
PIDS+=("$LOCKD_PID")
alive_and_ready() { kill -0 "$LOCKD_PID" && curl -sf "http://127.0.0.1:$LOCKD_PORT/healthz"; }
wait_until 120 alive_and_ready || { cat "$TMP/lockd.log" >&2; exit 1; }

# drive PHASE COUNT: COUNT POSTs on fresh names, 16 in flight, each in one send.
drive() {
    python3 - "$LOCKD_PORT" "$1" "$2" "$TTL_MS" <<'EOF'
import socket, sys
port, phase, count, ttl = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conn = socket.create_connection(("127.0.0.1", port))
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
body = b'{"ttl_ms":%d}' % ttl
def request(i):
    head = (f"POST /locks/live-{phase}-{i} HTTP/1.1\r\nHost: lockd\r\nAccept-Encoding: identity\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body
sent = answered = 0
pending = b""
while answered < count:
    while sent < count and sent - answered < 16:
        conn.sendall(request(sent))
        sent += 1
    chunk = conn.recv(65536)
    assert chunk, "lockd closed the connection"
    pending += chunk
    while (end := pending.find(b"\r\n\r\n")) >= 0:
        head = pending[:end]
        assert head.startswith(b"HTTP/1.1 201"), head[:200]
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        if len(pending) < end + 4 + length:
            break
        pending = pending[end + 4 + length:]
        answered += 1
EOF
}
drive fill "$FILL"
callgrind_control --zero "$LOCKD_PID" >/dev/null
drive measure "$MEASURE"
callgrind_control --dump=measure "$LOCKD_PID" >/dev/null
dump=$(ls -t "$TMP"/callgrind.* | head -1)
if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/callgrind.live-leases"; fi
python3 - "$dump" "$MEASURE" "$LOCKD" "$TTL_MS" "$FILL" <<'EOF'
import sys
dump, n, binary, ttl, fill = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
events = totals = None
for line in open(dump):
    if line.startswith("events:"):
        events = line.split()[1:]
    elif line.startswith("summary:"):
        totals = list(map(int, line.split()[1:]))
count = dict(zip(events, totals))
d1 = count["D1mr"] + count["D1mw"]
ll = count["DLmr"] + count["DLmw"]
print(f"lockd: {binary}")
print(f"{n} POSTs on fresh names (TTL {ttl} ms) after {fill}, one loop, in-memory store")
print(f"per POST: instructions {count['Ir'] / n:,.0f}, D1 misses {d1 / n:.1f}, LL misses {ll / n:.2f}")
EOF
