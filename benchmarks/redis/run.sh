#!/usr/bin/env bash
# Compares lockd's Redis client (redisbench) with redis-benchmark, same
# server, same commands, 50 concurrent callers, interleaved in one run.
#
#   benchmarks/redis/run.sh            # 3 rounds, 5 s each
#   ROUNDS=5 SECONDS_PER_RUN=8 benchmarks/redis/run.sh
#
# Starts its own redis-server on a free loopback port (no persistence) and
# stops it by PID on exit. Prints every run, then medians per tool and workload.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONCURRENCY=${CONCURRENCY:-50}
LOOPS=${LOOPS:-$(nproc)}  # redisbench's event loops; lockd runs one per core
KEYSPACE=100000000
LOG=$(mktemp -d /tmp/lockd-redisbench.XXXXXX)

[[ ${SKIP_BUILD:-0} == 1 ]] || swift build -c release --product redisbench >&2
BENCH=$(swift build -c release --show-bin-path)/redisbench

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$LOG" --save '' --appendonly no \
    --daemonize no --logfile "$LOG/redis.log" &
REDIS_PID=$!
trap 'kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null || true' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.05; done

SCRIPT="if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return redis.call('INCR', KEYS[2])
end
return false"
SHA=$(redis-cli -p "$PORT" SCRIPT LOAD "$SCRIPT")

echo "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$PORT, $(nproc) cores, concurrency $CONCURRENCY, redisbench loops $LOOPS"
echo "tool,workload,pipeline,requests_per_s,p50_ms,p99_ms,client_cpu_us" > "$LOG/results.csv"

redis_benchmark() { # workload pipeline count
    local args=(-p "$PORT" -c "$CONCURRENCY" -P "$2" -n "$3" -r "$KEYSPACE" --csv)
    case $1 in
        set) args+=(-t set) ;;
        get) args+=(-t get) ;;
        evalsha) args+=(EVALSHA "$SHA" 2 lock:__rand_int__ fence:__rand_int__ token 1000) ;;
    esac
    redis-benchmark "${args[@]}" 2>/dev/null | tail -1 | tr -d '"' |
        awk -F, -v w="$1" -v p="$2" '{print "redis-benchmark," w "," p "," int($2) "," $5 "," $7 ","}'
}

for _ in $(seq "$ROUNDS"); do
    for workload in set get evalsha; do
        redis_benchmark "$workload" 16 2000000 | tee -a "$LOG/results.csv"
        redis_benchmark "$workload" 1 300000 | tee -a "$LOG/results.csv"
        "$BENCH" --url "redis://127.0.0.1:$PORT" --concurrency "$CONCURRENCY" --workload "$workload" --loops "$LOOPS" \
            --seconds "$SECONDS_PER_RUN" --keyspace "$KEYSPACE" | tee "$LOG/last.txt" >&2
        awk -v w="$workload" -F'[ =]' '/requests\/s=/ { line = "redisbench," w ",callers," $2 "," $4 "," $6 }
            /client_cpu_us_per_request=/ { print line "," $2 }' "$LOG/last.txt" | tee -a "$LOG/results.csv"
    done
done

python3 - "$LOG/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("\nmedians over rounds")
print(f"{'workload':8} {'tool':28} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
for workload in ["set", "get", "evalsha"]:
    medians = {}
    for tool, pipeline in [("redis-benchmark", "16"), ("redis-benchmark", "1"), ("redisbench", "callers")]:
        chosen = [r for r in rows if r["workload"] == workload and r["tool"] == tool and r["pipeline"] == pipeline]
        if not chosen: continue
        m = {k: statistics.median(float(r[k]) for r in chosen) for k in ["requests_per_s", "p50_ms", "p99_ms"]}
        medians[(tool, pipeline)] = m
        label = f"{tool} -P {pipeline}" if tool == "redis-benchmark" else "redisbench (callers)"
        cpu = "" if tool == "redis-benchmark" else f"  client CPU {statistics.median(float(r['client_cpu_us']) for r in chosen):.2f} us/request"
        print(f"{workload:8} {label:28} {m['requests_per_s']:9.0f} {m['p50_ms']:7.3f} {m['p99_ms']:7.3f}{cpu}")
    ours, piped, plain = medians.get(("redisbench", "callers")), medians.get(("redis-benchmark", "16")), medians.get(("redis-benchmark", "1"))
    if ours and piped and plain:
        # Ratios within each round, then their median: the machine's load drifts between rounds.
        ratios, p99s = [], []
        for i in range(len([r for r in rows if r["workload"] == workload and r["tool"] == "redisbench"])):
            pick = lambda tool, p: [r for r in rows if r["workload"] == workload and r["tool"] == tool and r["pipeline"] == p][i]
            ratios.append(float(pick("redisbench", "callers")["requests_per_s"]) / float(pick("redis-benchmark", "16")["requests_per_s"]))
            p99s.append(float(pick("redisbench", "callers")["p99_ms"]) / float(pick("redis-benchmark", "1")["p99_ms"]))
        print(f"{workload:8} throughput vs -P 16: {statistics.median(ratios):.2f} (goal >= 0.80)   p99 vs unpipelined: {statistics.median(p99s):.2f}x (goal <= 2)")
PY
echo "raw results: $LOG/results.csv"
