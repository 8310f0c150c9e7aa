#!/usr/bin/env bash
# lockd's Redis client against one server and against a 3-master Redis
# Cluster on the same machine, interleaved in one run: what routing by hash
# slot costs (here all nodes share the machine's cores, so a cluster cannot
# scale out; a ratio near 1 means routing is cheap).
#
#   benchmarks/redis/topology.sh            # 3 rounds, 5 s each
#   ROUNDS=5 SECONDS_PER_RUN=8 benchmarks/redis/topology.sh
#
# Starts its own redis-servers on free loopback ports (no persistence, no
# replicas), forms the cluster with redis-cli --cluster create, and stops
# every server by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONCURRENCY=${CONCURRENCY:-50}
LOOPS=${LOOPS:-$(nproc)}
LOG=$(mktemp -d /tmp/lockd-topologybench.XXXXXX)

if [[ -z ${BENCH:-} ]]; then
    [[ ${SKIP_BUILD:-0} == 1 ]] || swift build -c release --product redisbench >&2
    BENCH=$(swift build -c release --show-bin-path)/redisbench
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null || true' EXIT
start_server() { # port [args…]
    local port=$1; shift
    mkdir -p "$LOG/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$LOG/$port" --save '' --appendonly no \
        --daemonize no --logfile "$LOG/$port/redis.log" "$@" &
    PIDS+=($!)
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
}

SINGLE=$(free_port)
start_server "$SINGLE"
NODES=()
for _ in 1 2 3; do
    port=$(free_port)
    start_server "$port" --cluster-enabled yes --cluster-config-file nodes.conf
    NODES+=("127.0.0.1:$port")
done
redis-cli --cluster create "${NODES[@]}" --cluster-yes >"$LOG/create.txt"
until [[ $(redis-cli -p "${NODES[0]#*:}" cluster info | tr -d '\r' | grep -c '^cluster_state:ok') == 1 ]]; do sleep 0.05; done
CLUSTER="redis+cluster://$(IFS=,; echo "${NODES[*]}")"

echo "redis-server $(redis-server --version | awk '{print $3}'), $(nproc) cores, concurrency $CONCURRENCY, loops $LOOPS; cluster of 3 masters"
echo "deployment,workload,pipeline,requests_per_s,p50_ms,p99_ms,client_cpu_us" > "$LOG/results.csv"
run() { # deployment url workload pipeline
    "$BENCH" --url "$2" --concurrency "$CONCURRENCY" --workload "$3" --pipeline "$4" --loops "$LOOPS" \
        --seconds "$SECONDS_PER_RUN" --keyspace 100000000 | tee "$LOG/last.txt" >&2
    awk -v d="$1" -v w="$3" -v p="$4" -F'[ =]' '/requests\/s=/ { line = d "," w "," p "," $2 "," $4 "," $6 }
        /client_cpu_us_per_request=/ { print line "," $2 }' "$LOG/last.txt"
}
for _ in $(seq "$ROUNDS"); do
    for workload in get evalsha; do
        for pipeline in 1 16; do
            run single "redis://127.0.0.1:$SINGLE" "$workload" "$pipeline" | tee -a "$LOG/results.csv"
            run cluster "$CLUSTER" "$workload" "$pipeline" | tee -a "$LOG/results.csv"
        done
    done
done

python3 - "$LOG/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("\nmedians over rounds; cluster/single ratios taken within each round")
print(f"{'workload':8} {'pipeline':>8} {'single req/s':>13} {'cluster req/s':>14} {'ratio':>6} {'CPU us/req single':>18} {'cluster':>8}")
for workload in ["get", "evalsha"]:
    for pipeline in ["1", "16"]:
        pick = lambda d: [r for r in rows if r["deployment"] == d and r["workload"] == workload and r["pipeline"] == pipeline]
        single, cluster = pick("single"), pick("cluster")
        med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
        ratio = statistics.median(float(c["requests_per_s"]) / float(s["requests_per_s"]) for s, c in zip(single, cluster))
        print(f"{workload:8} {pipeline:>8} {med(single, 'requests_per_s'):13.0f} {med(cluster, 'requests_per_s'):14.0f} {ratio:6.2f} "
              f"{med(single, 'client_cpu_us'):18.2f} {med(cluster, 'client_cpu_us'):8.2f}")
PY
echo "raw results: $LOG/results.csv"
