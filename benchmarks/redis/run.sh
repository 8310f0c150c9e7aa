#!/usr/bin/env bash
# Compares lockd's Redis client (redisbench) with redis-benchmark, same
# server, same commands, 50 concurrent callers, interleaved in one run:
# redis-benchmark -P 16 and -P 1; redisbench with callers sending one command
# per call, and sending 16 per call through RedisClient.pipeline (the shape of
# redis-benchmark -c 50 -P 16).
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

# BENCH=/path/to/redisbench measures another build (say, main's, for a before/after).
if [[ -z ${BENCH:-} ]]; then
    [[ ${SKIP_BUILD:-0} == 1 ]] || swift build -c release --product redisbench >&2
    BENCH=$(swift build -c release --show-bin-path)/redisbench
fi

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

redisbench() { # workload pipeline
    "$BENCH" --url "redis://127.0.0.1:$PORT" --concurrency "$CONCURRENCY" --workload "$1" --pipeline "$2" --loops "$LOOPS" \
        --seconds "$SECONDS_PER_RUN" --keyspace "$KEYSPACE" | tee "$LOG/last.txt" >&2
    awk -v w="$1" -v p="$2" -F'[ =]' '/requests\/s=/ { line = "redisbench," w "," p "," $2 "," $4 "," $6 }
        /client_cpu_us_per_request=/ { print line "," $2 }' "$LOG/last.txt"
}

for _ in $(seq "$ROUNDS"); do
    for workload in set get evalsha; do
        redis_benchmark "$workload" 16 2000000 | tee -a "$LOG/results.csv"
        redis_benchmark "$workload" 1 300000 | tee -a "$LOG/results.csv"
        redisbench "$workload" 1 | tee -a "$LOG/results.csv"
        redisbench "$workload" 16 | tee -a "$LOG/results.csv"
    done
done

python3 - "$LOG/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
runs = [("redis-benchmark", "16", "redis-benchmark -P 16"), ("redis-benchmark", "1", "redis-benchmark -P 1"),
        ("redisbench", "1", "redisbench, 1 command/call"), ("redisbench", "16", "redisbench, pipeline(16)")]
pick = lambda workload, tool, p: [r for r in rows if r["workload"] == workload and r["tool"] == tool and r["pipeline"] == p]
print("\nmedians over rounds")
print(f"{'workload':8} {'run':28} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
for workload in ["set", "get", "evalsha"]:
    for tool, pipeline, label in runs:
        chosen = pick(workload, tool, pipeline)
        if not chosen: continue
        m = {k: statistics.median(float(r[k]) for r in chosen) for k in ["requests_per_s", "p50_ms", "p99_ms"]}
        cpu = f"  client CPU {statistics.median(float(r['client_cpu_us']) for r in chosen):.2f} us/request" if tool == "redisbench" else ""
        print(f"{workload:8} {label:28} {m['requests_per_s']:9.0f} {m['p50_ms']:7.3f} {m['p99_ms']:7.3f}{cpu}")
    # Ratios within each round, then their median: the machine's load drifts between rounds.
    ratio = lambda ours, theirs, key: statistics.median(
        float(a[key]) / float(b[key]) for a, b in zip(pick(workload, *ours), pick(workload, *theirs)))
    piped, plain = ("redis-benchmark", "16"), ("redis-benchmark", "1")
    print(f"{workload:8} vs -P 16 throughput: pipeline(16) {ratio(('redisbench', '16'), piped, 'requests_per_s'):.2f}, "
          f"1 command/call {ratio(('redisbench', '1'), piped, 'requests_per_s'):.2f} (goal >= 0.80)   "
          f"p99 1 command/call vs -P 1: {ratio(('redisbench', '1'), plain, 'p99_ms'):.2f}x (goal <= 2)")
PY
echo "raw results: $LOG/results.csv"
