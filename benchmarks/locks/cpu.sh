#!/usr/bin/env bash
# Issue 22's goals in one run: lockd's CPU per lock request beside its CPU
# per /healthz, the acquire→release cycle against the minimal Redis floor
# (and etcd's lock), and the in-memory POST /locks/{random} and /healthz
# against nginx's fixed 200.
#
#   benchmarks/locks/cpu.sh               # DURATION=8 CLIENTS="32 64" ETCD=1 ROUNDS=1
#
# Starts redis-server, a lockd on it, a lockd on the in-memory store, nginx
# (shared/anchors/nginx.conf) and etcd on free loopback ports, and stops only
# what it started. CPU is read from /proc/PID/stat (user + system) over each
# wrk run and divided by the requests wrk counted. Prints one line per
# measurement (key=value) and the goal ratios at the end; figures in CPU.md.
# The cycles, the floor and the POSTs also print "cores busy": each process's
# CPU over the run ÷ its wall time, the driver's (wrk, lockbench,
# redis-benchmark) included — on two cores, what the driver takes caps the
# rest.
#
# The goal's /healthz runs at wrk -t2 -c32; /healthz is also driven at each
# cycle's shape (wrk -tN -cN, one connection per thread), where, as in the
# cycle, every answer wakes a sleeping wrk thread: lock ÷ healthz like for like.
# The cycle is also driven from one client thread (lockbench), which seldom
# sleeps, as wrk -t2 -c32's threads seldom do: lockd's CPU per lock request
# there ÷ its CPU per /healthz is the other like-for-like ratio.
#
# Minimal floor (the issue's): redis-benchmark -c N, unpipelined, running the
# smallest pair of scripts a Redis lock needs — SET NX PX + INCR for the
# fence; compare-and-DEL — on random names; a cycle = 1/(1/acquire + 1/release).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/locks
DURATION=${DURATION:-8}
CLIENTS=${CLIENTS:-"32 64"}
ETCD=${ETCD:-1}
ROUNDS=${ROUNDS:-1}
BIN=${BIN:-$ROOT/.build/release}
ANCHORS=${ANCHORS:-$(cd "$ROOT/.." && pwd)/shared/anchors}
[[ -d $ANCHORS ]] || ANCHORS=/work/shared/anchors

TMP=$(mktemp -d /tmp/lockd-cpu.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$HERE/../lib/processes.sh"

ticks() {  # ticks PID… — user+system clock ticks of the processes and their threads
    local total=0 pid
    for pid in "$@"; do total=$((total + $(cpu_ticks "$pid"))); done
    echo "$total"
}
HZ=$(getconf CLK_TCK)

# measured NAME REQUESTS_FILE PIDS… -- COMMAND… : runs COMMAND, prints the CPU
# µs per request of PIDS; COMMAND's output goes to $TMP/out.
measure() {
    local name=$1; shift
    local pids=()
    while [[ $1 != -- ]]; do pids+=("$1"); shift; done; shift
    local before after started ended driver me=$BASHPID
    before=$(ticks "${pids[@]}")
    started=$(date +%s%N)
    timeout $((DURATION + 60)) "$@" >"$TMP/out" 2>&1
    ended=$(date +%s%N)
    after=$(ticks "${pids[@]}")
    # The driver's own CPU: this subshell's waited-for children (timeout and
    # what it ran), fields 16 and 17 of its stat, counted from zero at fork.
    driver=$(awk '{print $16 + $17}' "/proc/$me/stat")
    echo "$name cpu_ticks=$((after - before)) driver_ticks=$driver wall_ns=$((ended - started))" >>"$TMP/cpu"
    echo "$driver $((ended - started))" >"$TMP/driver"
    echo $((after - before))
}
# cores TICKS — cores busy over the last measured run (ticks ÷ its wall time)
cores() {
    local wall; read -r _ wall <"$TMP/driver"
    python3 -c "import sys; print(f'{float(sys.argv[1]) / $HZ / (float(sys.argv[2]) / 1e9):.2f}')" "$1" "$wall"
}
# driver_cores — the last run's driver (wrk, lockbench, redis-benchmark) in cores
driver_cores() { local d; read -r d _ <"$TMP/driver"; cores "$d"; }
per_request() {  # per_request TICKS REQUESTS → µs
    python3 -c "import sys; t, n = float(sys.argv[1]), float(sys.argv[2]); print(f'{t / $HZ * 1e6 / n:.1f}' if n else 'nan')" "$1" "$2"
}
wrk_requests() { awk '/requests in/ {print $1}' "$TMP/out"; }
wrk_rate() { awk '/Requests\/sec/ {print $2}' "$TMP/out"; }
result() { grep -o "$1=[0-9.]*" "$TMP/out" | head -1 | cut -d= -f2; }

REDIS_PORT=$(free_port)
start_redis "$REDIS_PORT"
start_lockd mem ""
MEM_PORT=$LOCKD_PORT MEM_PID=$LOCKD_PID
start_lockd redis "redis://127.0.0.1:$REDIS_PORT"
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
nginx -p "$TMP/nginx" -c "$ANCHORS/nginx.conf" -g "daemon off; pid $TMP/nginx/nginx.pid; worker_processes 2;" &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
wait_until 15 curl -sf "http://127.0.0.1:18080/locks/x"
NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
# --- lockd on Redis: /healthz and the lock cycle --------------------------------
t=$(measure healthz "$LOCKD_PID" -- wrk -t2 -c32 -d"${DURATION}s" "http://127.0.0.1:$LOCKD_PORT/healthz")
n=$(wrk_requests)
HEALTHZ_US=$(per_request "$t" "$n")
echo "healthz (redis lockd, wrk -t2 -c32): req/s=$(wrk_rate) lockd_cpu_us_per_request=$HEALTHZ_US"

declare -A CYCLE FLOOR LOCK_US REDIS_US BENCH_CYCLE BENCH_US HEALTHZ_SAME_US
for c in $CLIENTS; do
    before_redis=$(ticks "$REDIS_PID")
    t=$(measure "cycle$c" "$LOCKD_PID" -- wrk -t"$c" -c"$c" -d"${DURATION}s" -s "$HERE/lockd-cycle.lua" \
        "http://127.0.0.1:$LOCKD_PORT" -- 1000 "$c" "cpu$c" 0)
    r=$(($(ticks "$REDIS_PID") - before_redis))
    secs=$(result duration_s); http=$(result http_req_per_s)
    n=$(python3 -c "print(int($secs * $http))")
    CYCLE[$c]=$(result cycles_per_s)
    LOCK_US[$c]=$(per_request "$t" "$n"); REDIS_US[$c]=$(per_request "$r" "$n")
    echo "cycle $c clients (wrk -t$c -c$c): cycles/s=${CYCLE[$c]} errors=$(result errors) lockd_cpu_us_per_request=${LOCK_US[$c]} redis_cpu_us_per_request=${REDIS_US[$c]}"
    # Where the two cores go in the cycle: a driver that needs as much CPU as
    # lockd and Redis together caps the cycle whatever they do.
    echo "cycle $c clients (wrk -t$c -c$c): cores busy: lockd=$(cores "$t") redis=$(cores "$r") wrk=$(driver_cores)"
    # /healthz driven the way the cycle is (one connection per wrk thread):
    # each answer then wakes a sleeping wrk thread, whose wake-up the
    # kernel charges to lockd's send, as in the cycle; at -t2 -c32 the two
    # busy wrk threads are seldom asleep. Like for like, beside the goal's.
    t=$(measure "healthz$c" "$LOCKD_PID" -- wrk -t"$c" -c"$c" -d"${DURATION}s" "http://127.0.0.1:$LOCKD_PORT/healthz")
    HEALTHZ_SAME_US[$c]=$(per_request "$t" "$(wrk_requests)")
    echo "healthz (redis lockd, wrk -t$c -c$c): req/s=$(wrk_rate) lockd_cpu_us_per_request=${HEALTHZ_SAME_US[$c]}"
    # The same cycle from one client thread, as redis-benchmark drives the
    # floor: wrk -tN runs N threads, each with its own loop and Lua state,
    # which cost as much CPU as lockd on these two cores.
    if [[ -x $BIN/lockbench ]]; then
        before_redis=$(ticks "$REDIS_PID")
        t=$(measure "lockbench$c" "$LOCKD_PID" -- "$BIN/lockbench" --url "http://127.0.0.1:$LOCKD_PORT" --clients "$c" --names 1000 \
            --duration "${DURATION}s" --prefix "lb$c" --json)
        read -r BENCH_CYCLE[$c] n < <(python3 -c "import json, re, sys; t = open(sys.argv[1]).read(); s = re.search(r'^\{', t, re.M).start(); r = json.JSONDecoder().raw_decode(t[s:])[0]; print(round(r['cycles_per_second']), r['acquire']['latency_ms']['count'] + r['release']['latency_ms']['count'])" "$TMP/out" 2>/dev/null || echo 0 0)
        # lockd's CPU per lock request when the client thread seldom sleeps
        # (as wrk -t2 -c32's /healthz): its answers then wake no sleeping
        # reader, whose wake-up and preemption the kernel charges to lockd's
        # send (syscalls.sh, CPU.md). lockbench's start and its final
        # releases count too: the figure reads a little high, if anything.
        BENCH_US[$c]=$(per_request "$t" "$n")
        echo "cycle $c clients (lockbench, one thread): cycles/s=${BENCH_CYCLE[$c]} lockd_cpu_us_per_request=${BENCH_US[$c]}"
        r=$(($(ticks "$REDIS_PID") - before_redis))
        echo "cycle $c clients (lockbench, one thread): cores busy: lockd=$(cores "$t") redis=$(cores "$r") lockbench=$(driver_cores)"
    fi
done

# --- the minimal floor ------------------------------------------------------------
ACQ=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end return false")
REL=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")
rb_rate() { tr '\r' '\n' <"$TMP/out" | grep -o '[0-9.]* requests per second' | tail -1 | awk '{print $1}'; }
for c in $CLIENTS; do
    # Acquires on 100 000 names (most get taken), releases on the same names
    # with the same token, so most releases find their lease and delete it.
    t=$(measure "floor-acquire$c" "$REDIS_PID" -- redis-benchmark -p "$REDIS_PORT" --dbnum 9 -c "$c" -n 200000 -r 100000 -q \
        EVALSHA "$ACQ" 2 "f$c:__rand_int__" "f$c:fence:__rand_int__" tok 600000)
    a=$(rb_rate)
    floor_cores="redis=$(cores "$t") redis-benchmark=$(driver_cores)"
    t=$(measure "floor-release$c" "$REDIS_PID" -- redis-benchmark -p "$REDIS_PORT" --dbnum 9 -c "$c" -n 50000 -r 100000 -q \
        EVALSHA "$REL" 1 "f$c:__rand_int__" tok)
    rl=$(rb_rate)
    FLOOR[$c]=$(python3 -c "print(round(1 / (1 / $a + 1 / $rl)))")
    redis-cli -p "$REDIS_PORT" -n 9 flushdb >/dev/null
    echo "minimal floor $c clients: acquire/s=$a release/s=$rl cycles/s=${FLOOR[$c]}"
    echo "minimal floor $c clients (acquire script): cores busy: $floor_cores"
done

# --- etcd's lock cycle (32 clients, 1000 names) -----------------------------------
ETCD_RATE=
if [[ $ETCD == 1 ]] && command -v etcd >/dev/null; then
    ETCD_PORT=$(free_port); ETCD_PEER=$(free_port)
    etcd --name bench --data-dir "$TMP/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER" \
        --log-level error >"$TMP/etcd.log" 2>&1 &
    ETCD_PID=$!; PIDS+=("$ETCD_PID")
    wait_until 20 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
    mkdir -p "$TMP/etcd-lat"
    measure etcd "$ETCD_PID" -- wrk -t32 -c32 -d"${DURATION}s" --timeout 30s -s "$ANCHORS/etcd-lock-cycle.lua" \
        "http://127.0.0.1:$ETCD_PORT" -- 1000 32 bench "$TMP/etcd-lat" >/dev/null
    ETCD_RATE=$(result cycles_per_s)
    kill "$ETCD_PID"; wait "$ETCD_PID" 2>/dev/null || true
    echo "etcd lock cycle 32 clients: cycles/s=$ETCD_RATE"
fi

# --- in-memory lockd against nginx (wrk -t2 -c64) ---------------------------------
# ROUNDS > 1 repeats the four runs in turn and reports each round and the
# medians: nginx's own rate here moves by up to a third between runs of one
# build (CPU.md, session 20), and one pair of runs then says more about nginx
# than about lockd.
NGINX_RATES=() NGINX_SAME_RATES=() MEM_RATES=() HZ_RATES=()
for ((round = 1; round <= ROUNDS; round++)); do
    # shellcheck disable=SC2086
    t=$(measure nginx-post $NGINX_WORKERS -- wrk -t2 -c64 -d"${DURATION}s" -s "$ANCHORS/post.lua" "http://127.0.0.1:18080/locks/bench-lock")
    NGINX_RATE=$(wrk_rate); NGINX_US=$(per_request "$t" "$(wrk_requests)")
    # The same request script against nginx: wrk's Lua request() (a call and a
    # new string per request) still costs wrk a little CPU on the same two cores;
    # this run has nginx pay it too, so the ratio below compares the servers alone.
    # shellcheck disable=SC2086
    t=$(measure nginx-random-post $NGINX_WORKERS -- wrk -t2 -c64 -d"${DURATION}s" -s "$HERE/random-post.lua" "http://127.0.0.1:18080")
    NGINX_SAME_RATE=$(wrk_rate); NGINX_SAME_US=$(per_request "$t" "$(wrk_requests)")
    NGINX_SAME_CORES="nginx=$(cores "$t") wrk=$(driver_cores)"
    t=$(measure mem-post "$MEM_PID" -- wrk -t2 -c64 -d"${DURATION}s" -s "$HERE/random-post.lua" "http://127.0.0.1:$MEM_PORT")
    MEM_RATE=$(wrk_rate); MEM_US=$(per_request "$t" "$(wrk_requests)")
    MEM_CORES="lockd=$(cores "$t") wrk=$(driver_cores)"
    grep -q 'Non-2xx' "$TMP/out" && echo "in-memory POST: non-2xx answers! $(grep Non-2xx "$TMP/out")"
    t=$(measure mem-healthz "$MEM_PID" -- wrk -t2 -c64 -d"${DURATION}s" "http://127.0.0.1:$MEM_PORT/healthz")
    HZ_RATE=$(wrk_rate); HZ_US=$(per_request "$t" "$(wrk_requests)")
    (( ROUNDS > 1 )) && echo "round $round of $ROUNDS:"
    echo "nginx fixed 200: req/s=$NGINX_RATE cpu_us_per_request=$NGINX_US"
    echo "nginx fixed 200, lockd's random-POST script: req/s=$NGINX_SAME_RATE cpu_us_per_request=$NGINX_SAME_US cores busy: $NGINX_SAME_CORES"
    echo "in-memory lockd POST /locks/{random}: req/s=$MEM_RATE cpu_us_per_request=$MEM_US cores busy: $MEM_CORES"
    echo "in-memory lockd GET /healthz (-c64): req/s=$HZ_RATE cpu_us_per_request=$HZ_US"
    NGINX_RATES+=("$NGINX_RATE") NGINX_SAME_RATES+=("$NGINX_SAME_RATE") MEM_RATES+=("$MEM_RATE") HZ_RATES+=("$HZ_RATE")
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- goals --------------------------------------------------------------------
python3 - "$HEALTHZ_US" "${NGINX_RATES[*]}" "${MEM_RATES[*]}" "${HZ_RATES[*]}" "$ETCD_RATE" "$CLIENTS" "${NGINX_SAME_RATES[*]}" \
    "$(for c in $CLIENTS; do echo -n "${LOCK_US[$c]},${CYCLE[$c]},${FLOOR[$c]},${BENCH_CYCLE[$c]:-0},${HEALTHZ_SAME_US[$c]},${BENCH_US[$c]:-0} "; done)" <<'EOF'
import statistics, sys
healthz, nginx, mem, hz, etcd, clients, nginx_same, rows = sys.argv[1:]
healthz = float(healthz)
# One figure per round; each ratio is taken within its round, then the median.
nginx, mem, hz, nginx_same = ([float(x) for x in runs.split()] for runs in (nginx, mem, hz, nginx_same))
def median_ratio(tops, bottoms): return statistics.median(t / b for t, b in zip(tops, bottoms))
def mark(ok): return "met" if ok else "NOT met"
for c, row in zip(clients.split(), rows.split()):
    lock, cycle, floor, bench, healthz_same, bench_us = map(float, row.split(","))
    print(f"goal {c} clients: CPU/lock request ÷ CPU/healthz = {lock / healthz:.2f}× (≤ 2: {mark(lock / healthz <= 2)}); "
          f"cycles ÷ minimal floor = {cycle / floor:.2f} (≥ 0.5: {mark(cycle / floor >= 0.5)})"
          + (f"; ÷ etcd = {cycle / float(etcd):.1f}× (≥ 15: {mark(cycle / float(etcd) >= 15)})" if etcd else ""))
    print(f"like for like {c} clients: CPU/lock request ÷ CPU/healthz, both at wrk -t{c} -c{c} = {lock / healthz_same:.2f}×")
    if bench:
        print(f"like for like {c} clients: lockbench's cycles (one client thread, as redis-benchmark) ÷ minimal floor = "
              f"{bench / floor:.2f}")
    if bench_us:
        print(f"like for like {c} clients: CPU/lock request driven by lockbench's one thread ÷ CPU/healthz (-t2 -c32) = "
              f"{bench_us / healthz:.2f}×")
post, health, same = median_ratio(mem, nginx), median_ratio(hz, nginx), median_ratio(mem, nginx_same)
rounds = f" (median of {len(mem)} rounds: " + ", ".join(f"{m / n:.2f}" for m, n in zip(mem, nginx)) + ")" if len(mem) > 1 else ""
print(f"goal in-memory POST /locks/{{random}} ÷ nginx = {post:.2f}×{rounds} (≥ 0.9: {mark(post >= 0.9)}); "
      f"/healthz ÷ nginx = {health:.2f}× (≥ 1.0: {mark(health >= 1.0)})")
print(f"like for like: in-memory POST /locks/{{random}} ÷ nginx driven by the same random-POST script = {same:.2f}×"
      + (" (rounds: " + ", ".join(f"{m / n:.2f}" for m, n in zip(mem, nginx_same)) + ")" if len(mem) > 1 else ""))
EOF
