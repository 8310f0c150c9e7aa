#!/usr/bin/env bash
# Start-up to the child's exec: `lockd exec NAME -- true` beside `flock FILE
# true` and `etcdctl lock NAME true` doing the same, in one hyperfine run
# (RUNS runs each, medians), then again interleaved (interleave.py: every
# round runs each command once, in a shuffled order). Also `lockd --help` (loading and argument parsing
# alone), and — when STATIC_LOCKD is given — the same binary built with the
# README's production command (--static-swift-stdlib).
# Writes benchmarks/cli/RESULTS.md (keeping its hand-written analysis, "## Where
# the time goes") and results.json.
#
#   benchmarks/cli/run.sh
#   swift build -c release --product lockd --static-swift-stdlib --scratch-path /tmp/lockd-static
#   STATIC_LOCKD=/tmp/lockd-static/release/lockd benchmarks/cli/run.sh
#
# Needs hyperfine, flock, etcd, etcdctl, python3. Starts its own lockd (in
# memory: the store is not what is measured) and etcd on free loopback ports,
# and stops only what it started, by PID.
#
# Environment (all optional):
#   RUNS=50          runs per command
#   WARMUP=5         warm-up runs per command
#   SKIP_BUILD=1     use the release binary already built
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/cli
RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}

# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
require_tools "" hyperfine flock etcd etcdctl python3
build_release lockd
LOCKD=$ROOT/.build/release/lockd

TMP=$(mktemp -d /tmp/lockd-cli-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

lockd_port=$(free_port)
"$LOCKD" --listen "127.0.0.1:$lockd_port" --log-level error &
PIDS+=($!)

etcd_client=$(free_port)
etcd_peer=$(free_port)
etcd --name bench --data-dir "$TMP/etcd" --log-level error \
    --listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "bench=http://127.0.0.1:$etcd_peer" >"$TMP/etcd.log" 2>&1 &
PIDS+=($!)

for _ in $(seq 1 100); do
    if "$LOCKD" status ready --server "http://127.0.0.1:$lockd_port" >/dev/null 2>&1 \
        && etcdctl --endpoints "http://127.0.0.1:$etcd_client" endpoint health >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done

commands=(
    "lockd exec|$LOCKD exec bench --server http://127.0.0.1:$lockd_port -- true"
)
if [[ -n ${STATIC_LOCKD:-} ]]; then
    commands+=("lockd exec (--static-swift-stdlib)|$STATIC_LOCKD exec bench --server http://127.0.0.1:$lockd_port -- true")
fi
commands+=(
    "etcdctl lock|etcdctl --endpoints http://127.0.0.1:$etcd_client lock bench true"
    "flock|flock $TMP/bench.lock true"
    "lockd --help (start-up alone)|$LOCKD --help"
)
if [[ -n ${STATIC_LOCKD:-} ]]; then
    commands+=("lockd --help (--static-swift-stdlib)|$STATIC_LOCKD --help")
fi

args=()
for entry in "${commands[@]}"; do args+=(--command-name "${entry%%|*}" "${entry#*|}"); done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$HERE/results.json" "${args[@]}"
# The same commands again, each round running every one once in a shuffled order.
python3 "$HERE/interleave.py" "$HERE/interleaved.json" "$RUNS" "$WARMUP" "${commands[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 "$HERE/report.py" "$HERE/results.json" "$load_before" "$load_after" \
    "$(etcdctl version | head -1)" "$(ldd "$LOCKD" | wc -l)" "${STATIC_LOCKD:+$(ldd "$STATIC_LOCKD" | wc -l)}" \
    "$HERE/interleaved.json" >"$TMP/RESULTS.md"
mv "$TMP/RESULTS.md" "$HERE/RESULTS.md"
echo "wrote $HERE/RESULTS.md"
