# shellcheck shell=bash
# Sourced by the benchmark scripts: the processes they start, stopped by PID
# on any exit, and the two helpers every one of them needs. The caller sets
# TMP (a directory removed on exit) and appends to PIDS what it starts.
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
