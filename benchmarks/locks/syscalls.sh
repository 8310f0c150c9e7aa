#!/usr/bin/env bash
# The kernel's side of issue 22: what lockd (on a real Redis) asks of the
# kernel per request — system calls by type, context switches, TCP segments,
# user and system CPU — for GET /healthz at the goal's shape (wrk -t2 -c32),
# /healthz at the cycle's shape (wrk -tN -cN: every answer wakes a sleeping
# wrk thread), the acquire→release cycle (lockd-cycle.lua, N clients) and,
# with PHASES=… cycle-one-thread, the same cycle driven by lockbench's one thread.
# STORE=memory runs a lockd on the in-memory store instead, for cpu.sh's
# request against nginx: PHASES="post healthz-c64" (the defaults then), POST
# /locks/{fresh name} (random-post.lua) and /healthz at wrk -t2 -c64. Its
# user-space µs per POST include what callgrind's 4 000 requests never reach:
# a table of ~10^5 live leases (cache misses, sweeps of the expired).
# Callgrind (instructions.sh) sees none of this.
#
#   benchmarks/locks/syscalls.sh                  # WINDOW=4 CLIENTS=32, .build/release/lockd
#   BIN=/tmp/other PHASES="cycle" benchmarks/locks/syscalls.sh
#   PROFILE=1 benchmarks/locks/syscalls.sh         # also: lockd's CPU by call site (perf, dwarf)
#   PROFILE=sym STORE=memory benchmarks/locks/syscalls.sh  # also: lockd's CPU by function (perf -g, the top 40)
#   STORE=memory benchmarks/locks/syscalls.sh      # in-memory POST and /healthz at wrk -t2 -c64
#
# Each phase runs wrk for WINDOW+3 s and measures a WINDOW-s stretch after
# 1.5 s of warm-up: `perf stat` on the syscall tracepoints of lockd's
# threads, the requests lockd counted (lockd_http_requests_total), /proc for
# CPU and switches, nstat for TCP segments (machine-wide: others' traffic
# counts too). With PROFILE=1 the stretch is `perf record --call-graph dwarf`
# instead (slower: the µs figures then read high), and lockd's samples are
# split by the call that spent them — the HTTP send (its kernel part split
# into waking the reader, being preempted on the way back, the receiver's
# softirq work done in lockd's send, the rest), the HTTP read, the Redis
# send and read, epoll_wait, poll, user space. With PROFILE=sym it is
# `perf record -g` (frame pointers: cheap, so the µs read nearly true), and
# the functions that spent lockd's CPU are listed by their own share
# (`perf report --no-children --sort sym`): where the tables of many live
# leases miss the cache. Stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/locks
BIN=${BIN:-$ROOT/.build/release}
WINDOW=${WINDOW:-4}
CLIENTS=${CLIENTS:-32}
STORE=${STORE:-redis}
if [[ $STORE == memory ]]; then PHASES=${PHASES:-"post healthz-c64"}; else PHASES=${PHASES:-"healthz healthz-cycle-shape cycle"}; fi
PROFILE=${PROFILE:-0}
TMP=$(mktemp -d /tmp/lockd-syscalls.XXXXXX)
# shellcheck source=../lib/processes.sh
source "$HERE/../lib/processes.sh"

if [[ $STORE == memory ]]; then
    start_lockd syscalls ""
else
    REDIS_PORT=$(free_port)
    start_redis "$REDIS_PORT"
    start_lockd syscalls "redis://127.0.0.1:$REDIS_PORT"
fi
CALLS=read,recvfrom,sendto,sendmsg,write,writev,epoll_wait,epoll_pwait,epoll_ctl,futex,poll,ppoll,getrandom,timerfd_settime,mmap,munmap,madvise
EVENTS=$(for c in ${CALLS//,/ }; do printf 'syscalls:sys_enter_%s,' "$c"; done)raw_syscalls:sys_enter,context-switches

# One line of counters: requests|voluntary involuntary switches|utime stime|TCP out-segments pure-ACKs
snapshot() {
    local requests switches cpu tcp
    requests=$(curl -s "$LOCKD_URL/metrics" | awk '/^lockd_http_requests_total/ {s += $NF} END {printf "%d", s}')
    switches=$(cat /proc/"$LOCKD_PID"/task/*/status | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v, n}')
    cpu=$(awk '{print $14, $15}' /proc/"$LOCKD_PID"/stat)
    tcp=$(nstat -asz 2>/dev/null | awk '/^TcpOutSegs/ {o = $2} /^TcpExtTCPPureAcks/ {p = $2} END {print o + 0, p + 0}')
    echo "$requests|$switches|$cpu|$tcp"
}
export -f snapshot
export LOCKD_URL LOCKD_PID

echo "lockd=$BIN/lockd load: $(cut -d' ' -f1-3 /proc/loadavg)"
for phase in $PHASES; do
    case $phase in
        healthz) load=(wrk -t2 -c32 "$LOCKD_URL/healthz") ;;
        healthz-c64) load=(wrk -t2 -c64 "$LOCKD_URL/healthz") ;;
        post) load=(wrk -t2 -c64 -s "$HERE/random-post.lua" "$LOCKD_URL") ;;
        healthz-cycle-shape) load=(wrk -t"$CLIENTS" -c"$CLIENTS" "$LOCKD_URL/healthz") ;;
        cycle) load=(wrk -t"$CLIENTS" -c"$CLIENTS" -s "$HERE/lockd-cycle.lua" "$LOCKD_URL" -- 1000 "$CLIENTS" "sys$RANDOM" 0) ;;
        # The same cycle from one client thread (lockbench, as redis-benchmark
        # drives the floor): a client seldom sleeps, so an answer seldom wakes one.
        cycle-one-thread) load=("$BIN/lockbench" --url "$LOCKD_URL" --clients "$CLIENTS" --names 1000 --prefix "sys$RANDOM") ;;
        *) echo "unknown phase $phase" >&2; exit 2 ;;
    esac
    if [[ $phase == cycle-one-thread ]]; then
        "${load[@]}" --duration "$((WINDOW + 3))s" >"$TMP/load" 2>&1 &
    else
        "${load[0]}" -d"$((WINDOW + 3))s" "${load[@]:1}" >"$TMP/load" 2>&1 &
    fi
    WRK_PID=$!
    PIDS+=("$WRK_PID")  # stopped with the rest if this script stops early
    sleep 1.5
    window="snapshot >$TMP/before; sleep $WINDOW; snapshot >$TMP/after"
    if [[ $PROFILE == 1 ]]; then
        perf record -q -F 1999 --call-graph dwarf,8192 -o "$TMP/perf.data" -p "$LOCKD_PID" -- bash -c "$window" >/dev/null 2>&1
    elif [[ $PROFILE == sym ]]; then
        perf record -q -F 2999 -g -o "$TMP/perf.data" -p "$LOCKD_PID" -- bash -c "$window" >/dev/null 2>&1
    else
        perf stat -x, -e "$EVENTS" -o "$TMP/stat" -p "$LOCKD_PID" -- bash -c "$window" >/dev/null 2>&1
    fi
    wait "$WRK_PID"
    python3 - "$phase" "$TMP" "$PROFILE" "$(getconf CLK_TCK)" <<'PY'
import collections, subprocess, sys
phase, tmp, profile, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def fields(name):
    return [list(map(int, part.split())) for part in open(f'{tmp}/{name}').read().strip().split('|')]
(r0,), s0, c0, t0 = fields('before')
(r1,), s1, c1, t1 = fields('after')
n = r1 - r0 - 1  # the second snapshot's own request
per = lambda x: x / n
user, system = (c1[0] - c0[0]) / hz * 1e6 / n, (c1[1] - c0[1]) / hz * 1e6 / n
print(f'{phase}: {n} requests; lockd µs per request user {user:.2f} system {system:.2f} total {user + system:.2f}')
print(f'  switches per request voluntary {per(s1[0] - s0[0]):.3f} involuntary {per(s1[1] - s0[1]):.3f};'
      f' TCP segments out {per(t1[0] - t0[0]):.3f} (pure ACKs {per(t1[1] - t0[1]):.3f})')
if profile == 'sym':
    report = subprocess.run(['perf', 'report', '-i', f'{tmp}/perf.data', '--no-children', '--sort', 'sym', '-g', 'none', '--stdio'],
                            capture_output=True, text=True).stdout
    rows = [line.strip() for line in report.splitlines() if line.strip() and not line.startswith('#')]
    print("  lockd's CPU by function (own share; perf -g):")
    for row in rows[:40]:
        print('    ' + row[:150])
elif profile != '1':
    counts = []
    for line in open(f'{tmp}/stat'):
        f = line.strip().split(',')
        if len(f) > 2 and f[0].replace('.', '').isdigit() and float(f[0]) > 0:
            name = f[2].replace('syscalls:sys_enter_', '').replace('raw_syscalls:sys_enter', 'all syscalls')
            counts.append(f'{name} {per(float(f[0])):.3f}')
    print('  per request: ' + ', '.join(counts))
else:
    script = subprocess.run(['perf', 'script', '-i', f'{tmp}/perf.data', '-F', 'ip,sym'],
                            capture_output=True, text=True).stdout
    sites, parts, total = collections.Counter(), collections.Counter(), 0
    for sample in script.split('\n\n'):
        frames = [l.strip().split(None, 1) for l in sample.strip().split('\n') if l.strip()]
        if not frames: continue
        total += 1
        kernel = [f[1] for f in frames if len(f) > 1 and f[0].startswith('ffffffff')]
        calls = [f[1] for f in frames if len(f) > 1 and not f[0].startswith('ffffffff')]
        site = 'user space' if not kernel else 'interrupts, other'
        # The innermost frame that names a call site decides (an HTTP send
        # made while a Redis reply is read is an HTTP send).
        for index, frame in enumerate(calls if kernel else []):
            if 'epoll_wait' in frame: site = 'epoll_wait'
            elif 'peerHasClosed' in frame or frame.lstrip('_').startswith('poll'): site = 'poll'
            elif 'HTTPConnection' in frame: site = 'HTTP send' if any('send' in c for c in calls[:index]) else 'interrupts, other'
            elif 'LockdRedis0B10ConnectionC5flush' in frame: site = 'Redis send'
            elif 'readPlaintext' in frame or 'readEvent' in frame: site = 'read (HTTP, Redis)'
            else: continue
            break
        sites[site] += 1
        if kernel:
            k = ' '.join(kernel)
            if 'sock_def_readable' in k and kernel[0].startswith('_raw_spin_unlock'): part = 'waking the reader'
            elif 'exit_to_user_mode_loop' in k: part = 'preempted on return'
            elif 'schedule' in k: part = 'sleeping'
            elif 'net_rx_action' in k: part = "receiver's softirq"
            else: part = 'the rest'
            parts[(site, part)] += 1
    each = (user + system) / total
    print(f'  lockd CPU by call site (µs per request, perf-inflated; {total} samples):')
    for site, count in sites.most_common():
        print(f'    {site:18} {count * each:5.2f}  ' + ', '.join(
            f'{part} {c * each:.2f}' for (s, part), c in parts.most_common() if s == site and c * each >= 0.05))
PY
    grep -h 'RESULT\|Non-2xx\|Socket errors' "$TMP/load" | sed 's/^/  wrk: /' || true
done
