#!/usr/bin/env bash
# Issue 13's lockd-level figures: the plain lock cycle through lockd on one
# Redis server (with one replica), the same with `durability: replicated`
# (each grant waits for the replica's WAIT acknowledgement), and on a 3 + 3
# Redis Cluster, interleaved in one run; and how long lockd takes to serve
# again when a cluster master is SIGKILLed.
#
#   benchmarks/locks/topology.sh           # REPEATS=3 DURATION=8 CLIENTS=16
#
# Starts its own redis-servers (no persistence) and two release lockds on
# free loopback ports, and stops only what it started (by PID). All nodes
# share this machine's cores, so a cluster cannot scale out here: the ratio
# is the cost of routing by slot, not what a cluster of machines would give.
# Recovery: a master is killed, its replica promoted by the cluster
# (cluster-node-timeout 1000 ms); the time from the kill to the promotion
# and from the promotion to lockd acquiring a name of that master again.
# First wait (first-wait.py): a contended acquire on a name nobody waited on
# lately (in a Cluster: one SSUBSCRIBE and one more acquire) against one on a
# name waited on already, on both lockds.
#
#   MODE=first-wait benchmarks/locks/topology.sh   # only the first-wait figures
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-8}
REPEATS=${REPEATS:-3}
CLIENTS=${CLIENTS:-16}
MODE=${MODE:-all}  # all | first-wait
ROUNDS=${ROUNDS:-300}
BIN=$ROOT/.build/release
if [[ -z ${SKIP_BUILD:-} ]]; then
    swift build -c release --product lockd
    swift build -c release --product lockbench
fi

TMP=$(mktemp -d /tmp/lockd-topobench.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"
declare -A PID_OF
start_server() {  # port [args…]
    local port=$1; shift
    mkdir -p "$TMP/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP/$port" --save '' --appendonly no \
        --logfile "$TMP/$port/redis.log" "$@" &
    PIDS+=($!); PID_OF[$port]=$!
    wait_until 10 redis-cli -p "$port" ping
}
start_lockd() {  # port url
    "$BIN/lockd" --listen "127.0.0.1:$1" --log-level warning --redis "$2" 2>>"$TMP/lockd-$1.log" &
    PIDS+=($!)
    wait_until 20 curl -sf "http://127.0.0.1:$1/readyz"
}

SINGLE=$(free_port)
start_server "$SINGLE"
SINGLE_REPLICA=$(free_port)
start_server "$SINGLE_REPLICA" --replicaof 127.0.0.1 "$SINGLE" --repl-diskless-sync-delay 0
replica_up() { redis-cli -p "$SINGLE_REPLICA" info replication | tr -d '\r' | grep -q '^master_link_status:up'; }
wait_until 20 replica_up
NODES=()
for _ in 1 2 3 4 5 6; do
    # Its cluster bus listens on port + 10000, which must be a port too.
    port=$(free_port)
    while ((port > 55000)); do port=$(free_port); done
    start_server "$port" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000
    NODES+=("127.0.0.1:$port")
done
redis-cli --cluster create "${NODES[@]}" --cluster-replicas 1 --cluster-yes >"$TMP/create.txt"
cluster_ok() { [[ $(redis-cli -p "$1" cluster info | tr -d '\r' | grep -c '^cluster_state:ok') == 1 ]]; }
wait_until 30 cluster_ok "${NODES[0]#*:}"
LOCKD_SINGLE=$(free_port)
LOCKD_CLUSTER=$(free_port)
start_lockd "$LOCKD_SINGLE" "redis://127.0.0.1:$SINGLE"
start_lockd "$LOCKD_CLUSTER" "redis+cluster://$(IFS=,; echo "${NODES[*]:0:3}")"

uptime | sed 's/.*load average: /load at start: /'
if [[ $MODE == first-wait ]]; then
    for _ in $(seq "$REPEATS"); do
        python3 "$ROOT/benchmarks/locks/first-wait.py" --rounds "$ROUNDS" \
            --target "single=http://127.0.0.1:$LOCKD_SINGLE" --target "cluster=http://127.0.0.1:$LOCKD_CLUSTER"
    done
    uptime | sed 's/.*load average: /load at end: /'
    exit 0
fi
echo "round,deployment,cycles_per_second,acquire_p99_ms" >"$TMP/cycles.csv"
measure() {  # round deployment port [lockbench flags…]
    timeout --kill-after=5 $((DURATION + 30)) "$BIN/lockbench" --url "http://127.0.0.1:$3" --duration "$DURATION" --json \
        --clients "$CLIENTS" --prefix "topo$1$2" "${@:4}" >"$TMP/run.json" 2>>"$TMP/lockbench.log" || { tail -20 "$TMP/lockbench.log" >&2; exit 1; }
    python3 -c 'import json, sys; r = json.load(open(sys.argv[3])); print("%s,%s,%.0f,%.2f" % (sys.argv[1], sys.argv[2], r["cycles_per_second"], r["acquire"]["latency_ms"]["p99"]))' \
        "$1" "$2" "$TMP/run.json" | tee -a "$TMP/cycles.csv"
}
for round in $(seq "$REPEATS"); do
    if ((round % 2)); then
        measure "$round" single "$LOCKD_SINGLE"; measure "$round" replicated "$LOCKD_SINGLE" --durability replicated
        measure "$round" cluster "$LOCKD_CLUSTER"
    else
        measure "$round" cluster "$LOCKD_CLUSTER"
        measure "$round" replicated "$LOCKD_SINGLE" --durability replicated; measure "$round" single "$LOCKD_SINGLE"
    fi
done
python3 - "$TMP/cycles.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {(r["round"], r["deployment"]): float(r["cycles_per_second"]) for r in rows}
for deployment in ("replicated", "cluster"):
    ratios = [by[(n, deployment)] / by[(n, "single")] for n in sorted({r["round"] for r in rows})]
    print(f"{deployment}/single cycle rate: median {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
PY

python3 "$ROOT/benchmarks/locks/first-wait.py" --rounds "$ROUNDS" \
    --target "single=http://127.0.0.1:$LOCKD_SINGLE" --target "cluster=http://127.0.0.1:$LOCKD_CLUSTER"

# Failover recovery: a name on the master of slot 0, acquired and released
# before the kill; then tried every 20 ms until it is granted again.
master=$(redis-cli -p "${NODES[0]#*:}" cluster nodes | tr -d '\r' | awk '/master/ && / 0-/ { split($2, a, "[:@]"); print a[2]; exit }')
master_id=$(redis-cli -p "$master" cluster myid | tr -d '\r')
replica=$(redis-cli -p "$master" cluster replicas "$master_id" | tr -d '\r' | awk '{ split($2, a, "[:@]"); print a[2]; exit }')
name=$(python3 - <<'PY'
# A name in slot 0's master: lockd keys are lockd:{NAME}:…, slot of NAME.
import binascii
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc
print(next(f"failover-{i}" for i in range(100000) if crc16(f"failover-{i}".encode()) % 16384 < 100))
PY
)
acquire() {  # acquire and release the name
    local url=http://127.0.0.1:$LOCKD_CLUSTER/locks/$name token
    token=$(curl -sf -X POST "$url" -d '{"ttl_ms":5000}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' 2>/dev/null) || return 1
    curl -sf -o /dev/null -X DELETE "$url" -H "Lock-Token: $token"
}
wait_until 10 acquire
kill -9 "${PID_OF[$master]}"
killed=$(date +%s.%N)
promoted=""
until acquire; do
    [[ -n $promoted ]] || { [[ $(redis-cli -p "$replica" role | head -1 | tr -d '\r') == master ]] && promoted=$(date +%s.%N); }
    python3 -c "import sys; sys.exit(0 if float('$(date +%s.%N)') - $killed < 60 else 1)" || { echo "topology.sh: no recovery within 60 s" >&2; exit 1; }
    sleep 0.02
done
served=$(date +%s.%N)
[[ -n $promoted ]] || promoted=$served
python3 -c "k, p, s = $killed, $promoted, $served; print(f'failover: killed master {\"$master\"}: promoted after {p - k:.2f} s; lockd granted again {s - p:.2f} s after the promotion ({s - k:.2f} s after the kill)')"
uptime | sed 's/.*load average: /load at end: /'
