#!/usr/bin/env bash
# Checks lockd's /metrics against the tools that read it: starts a redis-server
# and lockd on free loopback ports, sends a few requests, scrapes /metrics, and
#   - lints the scrape with `promtool check metrics` (HELP, names, units);
#   - checks that every metric the Grafana dashboard and the alert rules
#     query is one lockd exports (deploy/grafana/check_dashboard.py).
# Run by CI (.ci/run) after the tests have built lockd; stops what it started.
#
#   bash scripts/check-observability.sh     # LOCKD_BINARY=… to use another lockd
set -euo pipefail
cd "$(dirname "$0")/.."

LOCKD=${LOCKD_BINARY:-.build/debug/lockd}
TMP=$(mktemp -d /tmp/lockd-observability.XXXXXX)
PIDS=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
LOCKD_PORT=$(free_port)
URL=http://127.0.0.1:$LOCKD_PORT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" &
PIDS+=($!)
"$LOCKD" --listen "127.0.0.1:$LOCKD_PORT" --redis "redis://127.0.0.1:$REDIS_PORT" >"$TMP/lockd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 150); do
    curl -sf "$URL/readyz" >/dev/null && break
    sleep 0.1
done
curl -sf "$URL/readyz" >/dev/null || { echo "check-observability: lockd did not become ready" >&2; cat "$TMP/lockd.log" >&2; exit 1; }

# Traffic that makes every kind of series appear: a grant, a conflict, a
# release, a lost lease, a 404, a 405, and (Redis stopped) a store error.
token=$(curl -s -X POST "$URL/locks/observability" -d '{"ttl_ms":60000}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
curl -s -o /dev/null -X POST "$URL/locks/observability"
curl -s -o /dev/null -X DELETE "$URL/locks/observability" -H "Lock-Token: $token"
curl -s -o /dev/null -X DELETE "$URL/locks/observability" -H "Lock-Token: $token"
curl -s -o /dev/null "$URL/nowhere"
curl -s -o /dev/null -X PUT "$URL/locks/observability"
kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
curl -s -o /dev/null -X POST "$URL/locks/observability"
curl -sf "$URL/metrics" >"$TMP/metrics.txt"

status=0
if lint=$(promtool check metrics <"$TMP/metrics.txt" 2>&1) && [[ -z "$lint" ]]; then
    echo "check-observability: ok: promtool check metrics"
else
    echo "check-observability: FAIL: promtool check metrics:" >&2
    echo "$lint" >&2
    status=1
fi
if python3 deploy/grafana/check_dashboard.py --metrics "$TMP/metrics.txt" \
    deploy/grafana/lockd-dashboard.json deploy/prometheus/lockd-alerts.yml; then
    echo "check-observability: ok: the dashboard and the alert rules query only metrics lockd exports"
else
    status=1
fi
exit "$status"
