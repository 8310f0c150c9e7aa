#!/usr/bin/env bash
# Instructions lockd executes per request — a figure the machine's other load
# does not move, so a change can be compared with the last one exactly
# (issue 22's regression guard). Counted by valgrind's callgrind over a fixed
# run: lockd (release build of lockd-instructions-bench, beside this script:
# lockd's own composition of store, engine, API and metrics, logger at
# warning, one event loop — valgrind cannot run the `lockd` executable, whose
# async main crashes it) on a real redis-server serves REQUESTS/2 acquire → release cycles on distinct names, then
# REQUESTS GET /healthz, from one keep-alive client; counting is zeroed before
# each phase and dumped after it (after a warm-up), so start-up is not counted.
#
#   benchmarks/locks/instructions.sh                 # REQUESTS=4000
#   LOCKD=/other/build/release/lockd-instructions-bench benchmarks/locks/instructions.sh
#   SKIP_BUILD=1 benchmarks/locks/instructions.sh  # the release build already made
#   KEEP=/tmp/dumps …   # keeps the callgrind dumps (callgrind_annotate --inclusive=yes FILE)
#   STORE=memory …      # the in-memory store instead of Redis
#   IDLE_STREAMS=1000 … # with that many idle GET /events streams open (a
#                       # prefix nothing uses): what an idle stream costs a request
#   BODY='{"ttl_ms": 30000, "owner": "billing-7"}' …  # the body of the cycle's
#                       # acquire and of every POST (default: {"ttl_ms":30000}
#                       # and {"ttl_ms":1000}): what another client's body costs
#                       # (the waiting POST keeps its own body)
#
# Prints instructions per lock request (acquire or release: the cycle's
# total / 2) and per /healthz, and their ratio; then per POST /locks/{name}
# on a fresh name each time ({"ttl_ms":1000}, acquire only: cpu.sh's
# in-memory request against nginx); then per waiting POST /locks/{name} on a
# fresh name ({"ttl_ms":1000,"wait_ms":5000}: a waiting acquire of a free
# name, the SDK's default). Needs valgrind, redis-server,
# python3. The latest figures are in CPU.md beside this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
REQUESTS=${REQUESTS:-4000}
if [[ -z ${LOCKD:-} ]]; then
    [[ -n ${SKIP_BUILD:-} ]] || swift build -c release --product lockd-instructions-bench >&2
    LOCKD=$ROOT/.build/release/lockd-instructions-bench
fi

TMP=$(mktemp -d /tmp/lockd-instructions.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$ROOT/benchmarks/lib/processes.sh"

REDIS_PORT=$(free_port); LOCKD_PORT=$(free_port)
start_redis "$REDIS_PORT"
# Valgrind 3.19 cannot read the DWARF 5 Swift writes: count a copy without
# debug information (its symbols stay). One event loop: the counts then do not
# depend on how requests happen to spread over loops.
objcopy --strip-debug "$LOCKD" "$TMP/lockd"
valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$TMP/callgrind.%p" \
    "$TMP/lockd" "127.0.0.1:$LOCKD_PORT" "$([[ ${STORE:-redis} == memory ]] && echo memory || echo "redis://127.0.0.1:$REDIS_PORT")" 1 >"$TMP/lockd.log" 2>&1 &
LOCKD_PID=$!
PIDS+=("$LOCKD_PID")
# A bench that exited (its start-up check failed, say) is a zombie until
# waited for, which `kill -0` still finds: read its state instead, and stop
# waiting at once.
running() { local state; state=$(sed 's/.*) //' "/proc/$LOCKD_PID/stat" 2>/dev/null | cut -d' ' -f1); [[ -n $state && $state != Z ]]; }
ready_or_gone() { ! running || curl -sf "http://127.0.0.1:$LOCKD_PORT/healthz"; }
{ wait_until 120 ready_or_gone && running; } || { cat "$TMP/lockd.log" >&2; exit 1; }

if [[ ${IDLE_STREAMS:-0} -gt 0 ]]; then
    # A holder process keeps IDLE_STREAMS streams open until it is stopped.
    python3 - "$LOCKD_PORT" "$IDLE_STREAMS" "$TMP/streams.ready" <<'EOF' &
import resource, socket, sys, time
port, count, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_NOFILE, (count + 100, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
streams = []
for _ in range(count):  # all asked at once: lockd answers them side by side
    s = socket.create_connection(("127.0.0.1", port), timeout=600)
    s.sendall(b"GET /events?prefix=nobody-watches: HTTP/1.1\r\nHost: lockd\r\n\r\n")
    streams.append(s)
for s in streams:
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
open(ready, "w").close()
while True:
    time.sleep(60)
EOF
    PIDS+=($!)
    wait_until 900 test -e "$TMP/streams.ready"
fi

# drive PHASE COUNT: COUNT requests of one kind from one keep-alive connection.
drive() {
    python3 - "$LOCKD_PORT" "$1" "$2" <<'EOF'
import json, os, socket, sys
port, phase, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
# BODY, when set, is every acquire's body (the cycle's and the POST's).
body_override = os.environ.get("BODY", "").encode() or None
# Each request goes out in one send, head and body together (Python's
# http.client sends them apart, and lockd then read a POST in one or two
# loop iterations as the timing fell: ±300 instructions a request between
# runs of one build). The head's fields are http.client's, so the decoder
# does the same work.
conn = socket.create_connection(("127.0.0.1", port))
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pending = b""
def call(method, path, body=None, headers={}):
    global pending
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n"
    if body is not None:
        head += f"Content-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    conn.sendall(head.encode() + (body or b""))
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        assert chunk, "lockd closed the connection"
        pending += chunk
    reply_head, pending = pending.split(b"\r\n\r\n", 1)
    lines = reply_head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        assert name.strip().lower() != b"transfer-encoding", "a chunked answer: not expected here"
    while len(pending) < length:
        chunk = conn.recv(65536)
        assert chunk, "lockd closed the connection"
        pending += chunk
    reply, pending = pending[:length], pending[length:]
    return status, reply
if phase == "healthz":
    for _ in range(count):
        status, _ = call("GET", "/healthz")
        assert status == 200, status
elif phase.endswith("waitpost"):
    # A waiting acquire of a free name (the SDK's default): its own body.
    for i in range(count):
        status, body = call("POST", f"/locks/{phase}-{i}", b'{"ttl_ms":1000,"wait_ms":5000}', {"Content-Type": "application/json"})
        assert status == 201, (status, body)
elif phase.endswith("post"):
    for i in range(count):
        status, body = call("POST", f"/locks/{phase}-{i}", body_override or b'{"ttl_ms":1000}', {"Content-Type": "application/json"})
        assert status == 201, (status, body)
else:
    for i in range(count // 2):
        name = f"instr-{phase}-{i % 1000}"
        status, body = call("POST", f"/locks/{name}", body_override or b'{"ttl_ms":30000}', {"Content-Type": "application/json"})
        assert status == 201, (status, body)
        status, _ = call("DELETE", f"/locks/{name}", headers={"Lock-Token": json.loads(body)["token"]})
        assert status == 204, status
EOF
}
# counted PHASE: the instructions lockd executed while PHASE ran.
counted() {
    drive "warm-$1" 200
    callgrind_control --zero "$LOCKD_PID" >/dev/null
    drive "$1" "$REQUESTS"
    callgrind_control --dump="$1" "$LOCKD_PID" >/dev/null
    # The dump just written (one file per thread would be summed; callgrind
    # writes one for all threads by default).
    local dump
    dump=$(ls -t "$TMP"/callgrind.* | head -1)
    awk '/^summary:/ {print $2; exit}' "$dump"
    if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/callgrind.$1"; fi
}
LOCK=$(counted lock)
HEALTHZ=$(counted healthz)
POST=$(counted post)
WAITPOST=$(counted waitpost)
python3 - "$LOCK" "$HEALTHZ" "$REQUESTS" "$LOCKD" "$POST" "${STORE:-redis}" "$WAITPOST" <<'EOF'
import os, sys
idle = os.environ.get("IDLE_STREAMS", "0")
lock, healthz, n, binary, post, store = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
waitpost = int(sys.argv[7])
print(f"lockd: {binary}")
print(f"requests per phase: {n} (one keep-alive client, one event loop, {store} store, {idle} idle event streams)")
if os.environ.get("BODY"):
    print(f"acquire body (cycle and POST): {os.environ['BODY']}")
print(f"instructions per lock request (acquire or release, cycle / 2): {lock / n:,.0f}")
print(f"instructions per GET /healthz: {healthz / n:,.0f}")
print(f"lock request / healthz: {lock / healthz:.2f}x")
print(f"instructions per POST /locks/{{fresh name}}: {post / n:,.0f} ({post / healthz:.2f}x healthz)")
print(f"instructions per waiting POST /locks/{{fresh name}}: {waitpost / n:,.0f} ({waitpost / healthz:.2f}x healthz)")
EOF
