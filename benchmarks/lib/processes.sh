# shellcheck shell=bash
# Sourced by the benchmark scripts: the processes they start, stopped by PID
# on any exit, the helpers every one of them needs, and the redis-server and
# lockd most of them start. The caller sets TMP (a directory removed on exit)
# and, for start_lockd, BIN (the release binaries), and appends to PIDS what
# else it starts.
PIDS=()
stop_started() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "${TMP:?}"
}
cleanup() { stop_started; }  # a script that has more to stop redefines it
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_until() {  # wait_until SECONDS COMMAND…
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { echo "$(basename "$0"): timed out waiting for: $*" >&2; return 1; }
        sleep 0.05
    done
}
cpu_ticks() {  # cpu_ticks PID: its user + system CPU time so far, in clock ticks
    python3 -c 'import sys; f = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split(); print(int(f[11]) + int(f[12]))' "$1"
}

# start_redis PORT [ARGS…]: a redis-server on 127.0.0.1:PORT with no
# persistence, its files under $TMP/redis-PORT, given ARGS too (replication,
# cluster mode); returns once it answers PING. Sets REDIS_PID.
start_redis() {
    local port=$1; shift
    mkdir -p "$TMP/redis-$port"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$TMP/redis-$port" \
        --logfile "$TMP/redis-$port/redis.log" --daemonize no "$@" </dev/null >/dev/null 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    wait_until 10 redis-cli -p "$port" ping
}

# start_lockd LABEL REDIS_URL [FLAGS…]: a lockd (${LOCKD:-$BIN/lockd}) on a
# free loopback port, on REDIS_URL (empty: the in-memory store), logging
# warnings to $TMP/lockd-LABEL.log;
# returns once it is ready, or prints its log and exits. Sets LOCKD_PORT,
# LOCKD_URL, LOCKD_PID and LOCKD_LOG.
start_lockd() {
    local label=$1 redis=$2; shift 2
    LOCKD_PORT=$(free_port)
    LOCKD_URL=http://127.0.0.1:$LOCKD_PORT
    LOCKD_LOG=$TMP/lockd-$label.log
    "${LOCKD:-$BIN/lockd}" --listen "127.0.0.1:$LOCKD_PORT" --log-level warning ${redis:+--redis "$redis"} "$@" </dev/null >>"$LOCKD_LOG" 2>&1 &
    LOCKD_PID=$!
    PIDS+=("$LOCKD_PID")
    wait_until 20 curl -sf "$LOCKD_URL/readyz" || { cat "$LOCKD_LOG" >&2; exit 1; }
}
