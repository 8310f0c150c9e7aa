#!/usr/bin/env bash
# Issue 13's lockd-level figures: the plain lock cycle through lockd on one
# Redis server (with one replica), the same with `durability: replicated`
# (each grant waits for the replica's WAIT acknowledgement), on a 3 + 3
# Redis Cluster and behind Sentinel (a master, one replica, three
# sentinels), interleaved in one run; and how long lockd takes to serve
# again when a master is SIGKILLed, FAILOVERS times on each of the Cluster
# and the Sentinel deployment.
#
#   benchmarks/locks/topology.sh    # REPEATS=3 DURATION=8 CLIENTS=16 FAILOVERS=5
#
# Starts its own redis-servers (no persistence), sentinels and three release
# lockds on free loopback ports, and stops only what it started (by PID). All
# nodes share this machine's cores, so a cluster cannot scale out here: the
# ratio is the cost of routing by slot, not what a cluster of machines would
# give. Recovery: a master is killed, its replica promoted by the cluster
# (cluster-node-timeout 1000 ms) or by the sentinels (down-after-milliseconds
# 1000); the time from the kill to the promotion and from the promotion to
# lockd acquiring a name of that master again. The killed server comes back
# as a replica of the promoted one before the next kill.
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
FAILOVERS=${FAILOVERS:-5}
BIN=$ROOT/.build/release
# shellcheck source=../lib/prepare.sh
source "$(dirname "$0")/../lib/prepare.sh"
build_release lockd lockbench

TMP=$(mktemp -d /tmp/lockd-topobench.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$(dirname "$0")/../lib/processes.sh"
declare -A PID_OF
declare -A ARGS_OF
start_server() {  # port [args…]; restart_server port starts it again with the same arguments
    start_redis "$@"
    PID_OF[$1]=$REDIS_PID; ARGS_OF[$1]="${*:2}"
}
restart_server() {  # port
    # shellcheck disable=SC2086 # the saved arguments hold no spaces
    start_server "$1" ${ARGS_OF[$1]}
}
start_sentinel() {  # port master-name master-port
    mkdir -p "$TMP/sentinel-$1"
    cat >"$TMP/sentinel-$1/sentinel.conf" <<EOF
port $1
bind 127.0.0.1
daemonize no
dir $TMP/sentinel-$1
logfile $TMP/sentinel-$1/sentinel.log
sentinel monitor $2 127.0.0.1 $3 2
sentinel down-after-milliseconds $2 1000
sentinel failover-timeout $2 3000
EOF
    redis-sentinel "$TMP/sentinel-$1/sentinel.conf" &
    PIDS+=($!)
    wait_until 10 redis-cli -p "$1" ping
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
# Sentinel: a master and one replica (each may become the other's replica
# after a failover), three sentinels with a quorum of two.
MASTER_NAME=lockd-bench
SENTINEL_SERVERS=()
for _ in 1 2; do
    port=$(free_port)
    start_server "$port" --repl-diskless-sync-delay 0
    SENTINEL_SERVERS+=("$port")
done
redis-cli -p "${SENTINEL_SERVERS[1]}" replicaof 127.0.0.1 "${SENTINEL_SERVERS[0]}" >/dev/null
SENTINELS=()
for _ in 1 2 3; do
    port=$(free_port)
    start_sentinel "$port" "$MASTER_NAME" "${SENTINEL_SERVERS[0]}"
    SENTINELS+=("$port")
done
pairs() { tr -d '\r' | awk -v k="$1" 'NR % 2 { key = $0; next } key == k { print }'; }  # values of key k in a flat reply
role() { redis-cli -p "$1" role 2>/dev/null | head -1 | tr -d '\r'; }
link_up() { redis-cli -p "$1" info replication | tr -d '\r' | grep -q '^master_link_status:up'; }
sentinel_master() {  # the port every sentinel names as master, once they agree and it says it is
    local named="" sentinel port
    for sentinel in "${SENTINELS[@]}"; do
        [[ $(redis-cli -p "$sentinel" sentinel master "$MASTER_NAME" | pairs flags) == master ]] || return 1
        port=$(redis-cli -p "$sentinel" sentinel master "$MASTER_NAME" | pairs port)
        [[ -z $named || $named == "$port" ]] || return 1
        named=$port
    done
    [[ $(role "$named") == master ]] && echo "$named"
}
sentinels_settled() {  # every sentinel agrees on the master, sees its replica up and the other two sentinels
    local master sentinel server
    master=$(sentinel_master) || return 1
    for server in "${SENTINEL_SERVERS[@]}"; do [[ $server == "$master" ]] || link_up "$server" || return 1; done
    for sentinel in "${SENTINELS[@]}"; do
        [[ $(redis-cli -p "$sentinel" sentinel master "$MASTER_NAME" | pairs num-other-sentinels) == 2 ]] || return 1
        redis-cli -p "$sentinel" sentinel replicas "$MASTER_NAME" | pairs flags | grep -qx slave || return 1
    done
}
wait_until 30 sentinels_settled

start_lockd single "redis://127.0.0.1:$SINGLE"
LOCKD_SINGLE=$LOCKD_PORT
start_lockd cluster "redis+cluster://$(IFS=,; echo "${NODES[*]:0:3}")"
LOCKD_CLUSTER=$LOCKD_PORT
start_lockd sentinel "redis+sentinel://$(printf '127.0.0.1:%s,' "${SENTINELS[@]}" | sed 's/,$//')/$MASTER_NAME"
LOCKD_SENTINEL=$LOCKD_PORT

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
        measure "$round" cluster "$LOCKD_CLUSTER"; measure "$round" sentinel "$LOCKD_SENTINEL"
    else
        measure "$round" sentinel "$LOCKD_SENTINEL"; measure "$round" cluster "$LOCKD_CLUSTER"
        measure "$round" replicated "$LOCKD_SINGLE" --durability replicated; measure "$round" single "$LOCKD_SINGLE"
    fi
done
python3 - "$TMP/cycles.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {(r["round"], r["deployment"]): float(r["cycles_per_second"]) for r in rows}
for deployment in ("replicated", "cluster", "sentinel"):
    ratios = [by[(n, deployment)] / by[(n, "single")] for n in sorted({r["round"] for r in rows})]
    print(f"{deployment}/single cycle rate: median {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")
PY

python3 "$ROOT/benchmarks/locks/first-wait.py" --rounds "$ROUNDS" \
    --target "single=http://127.0.0.1:$LOCKD_SINGLE" --target "cluster=http://127.0.0.1:$LOCKD_CLUSTER"

# Failover recovery, FAILOVERS times per deployment: a name on the master
# being killed, acquired and released before the kill; then tried every
# 20 ms until it is granted again, while a watcher polls the replica's ROLE
# every 10 ms for the promotion. The killed server then comes back as a
# replica of the promoted one and the deployment settles before the next.
echo "deployment,kill_to_promoted_s,promoted_to_granted_s,kill_to_granted_s" >"$TMP/failovers.csv"
now() { date +%s.%N; }
acquire() {  # lockd-port name: acquire and release the name
    local url=http://127.0.0.1:$1/locks/$2 token
    token=$(curl -sf --max-time 2 -X POST "$url" -d '{"ttl_ms":5000}' | grep -o '"token" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/') || return 1
    [[ -n $token ]] && curl -sf --max-time 2 -o /dev/null -X DELETE "$url" -H "Lock-Token: $token"
}
failover() {  # deployment lockd-port name master-port replica-port
    local killed promoted served watcher
    wait_until 10 acquire "$2" "$3"
    rm -f "$TMP/promoted"
    kill -9 "${PID_OF[$4]}"
    killed=$(now)
    wait "${PID_OF[$4]}" 2>/dev/null || true  # reaped here, so bash does not report it Killed
    ( for _ in $(seq 6000); do [[ $(role "$5") == master ]] && { now >"$TMP/promoted"; exit 0; }; sleep 0.01; done ) &
    watcher=$!; PIDS+=("$watcher")
    until acquire "$2" "$3"; do
        python3 -c "import sys; sys.exit(float('$(now)') - $killed > 60)" || { echo "topology.sh: $1: no recovery within 60 s" >&2; exit 1; }
        sleep 0.02
    done
    served=$(now)
    wait_until 5 test -s "$TMP/promoted" || true
    kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true
    promoted=$(cat "$TMP/promoted" 2>/dev/null || echo "$served")
    python3 -c "k, p, s = $killed, min($promoted, $served), $served; print(f'$1,{p - k:.3f},{s - p:.3f},{s - k:.3f}')" | tee -a "$TMP/failovers.csv"
}
slot_name() {  # a name whose key lockd:{NAME}:… hashes to a slot below 100 (slot 0's shard)
    python3 - <<'PY'
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
}
cluster_settled() {  # every node up and cluster_state:ok, 3 masters and 3 replicas with their links up
    local node port
    for node in "${NODES[@]}"; do
        port=${node#*:}
        [[ $(redis-cli -p "$port" cluster info | tr -d '\r' | grep -c '^cluster_state:ok') == 1 ]] || return 1
        [[ $(role "$port") == master ]] || link_up "$port" || return 1
    done
    redis-cli -p "${NODES[0]#*:}" cluster nodes | tr -d '\r' | awk '$3 ~ /fail/ || $8 != "connected" { bad = 1 } $3 ~ /master/ { m++ } $3 ~ /slave/ { s++ } END { exit !(m == 3 && s == 3 && !bad) }'
}
name=$(slot_name)
for _ in $(seq "$FAILOVERS"); do
    wait_until 60 cluster_settled
    master=$(redis-cli -p "${NODES[0]#*:}" cluster nodes | tr -d '\r' | awk '/master/ && / 0-/ { split($2, a, "[:@]"); print a[2]; exit }')
    master_id=$(redis-cli -p "$master" cluster myid | tr -d '\r')
    replica=$(redis-cli -p "$master" cluster replicas "$master_id" | tr -d '\r' | awk '{ split($2, a, "[:@]"); print a[2]; exit }')
    failover cluster "$LOCKD_CLUSTER" "$name" "$master" "$replica"
    # Back with its nodes.conf: it learns its slots moved on and follows the promoted node.
    restart_server "$master"
done
wait_until 60 cluster_settled
last_promotion=0
for _ in $(seq "$FAILOVERS"); do
    wait_until 60 sentinels_settled
    # A sentinel does not start another failover of the same master within
    # twice the failover-timeout (3 s) of the previous one.
    while python3 -c "import sys; sys.exit(float('$(now)') - $last_promotion > 6.5)"; do sleep 0.1; done
    master=$(sentinel_master)
    replica=$([[ ${SENTINEL_SERVERS[0]} == "$master" ]] && echo "${SENTINEL_SERVERS[1]}" || echo "${SENTINEL_SERVERS[0]}")
    failover sentinel "$LOCKD_SENTINEL" sentinel-failover "$master" "$replica"
    last_promotion=$(now)
    restart_server "$master"
    redis-cli -p "$master" replicaof 127.0.0.1 "$replica" >/dev/null
done
python3 - "$TMP/failovers.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for deployment in ("cluster", "sentinel"):
    mine = [r for r in rows if r["deployment"] == deployment]
    parts = []
    for column, label in (("kill_to_promoted_s", "kill→promoted"), ("promoted_to_granted_s", "promoted→granted"), ("kill_to_granted_s", "kill→granted")):
        values = [float(r[column]) for r in mine]
        parts.append(f"{label} {min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s")
    print(f"{deployment} failover ({len(mine)}×, min / median / max): " + "; ".join(parts))
PY
uptime | sed 's/.*load average: /load at end: /'
