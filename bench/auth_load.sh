#!/usr/bin/env bash
# What authentication costs a request, over loopback with wrk (results in docs/performance.md):
#   bench/auth_load.sh [SECONDS]          CRONKIT_BIN=other/cronkit to measure another build
# Starts build/cronkit on a fresh database with a bootstrap token and one named token, then
# runs wrk with 64 connections against GET /api/scheduler/stats with the bootstrap token,
# with the named token (remembered for a second at a time: at most one lookup a second),
# with a revoked token (looked up on every request: the worst case), and GET /healthz (no
# token at all).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
command -v wrk >/dev/null || { echo "auth_load: wrk is needed (apt-get install wrk)"; exit 1; }
dir=$(mktemp -d)
log="$dir/server.log"
boot="bench-bootstrap-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"${CRONKIT_BIN:-build/cronkit}" serve --port 0 --db "sqlite:$dir/cronkit.db" --api-token "$boot" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  base=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | sed 's/listening on //' || true)
  [ -n "$base" ] && break
  sleep 0.1
done
echo "server at $base"
token() {  # NAME -> the new token's JSON
  curl -sf -H "Authorization: Bearer $boot" -H 'content-type: application/json' \
    -d "{\"name\":\"$1\",\"role\":\"viewer\"}" "$base/api/scheduler/tokens"
}
named=$(token bench-viewer | sed 's/.*"token":"\([^"]*\)".*/\1/')
revoked_json=$(token bench-revoked)
revoked=$(echo "$revoked_json" | sed 's/.*"token":"\([^"]*\)".*/\1/')
revoked_id=$(echo "$revoked_json" | sed 's/.*"id":"\([^"]*\)".*/\1/')
curl -sf -X DELETE -H "Authorization: Bearer $boot" "$base/api/scheduler/tokens/$revoked_id" >/dev/null
run() {  # LABEL WRK-ARGS...
  local label=$1
  shift
  echo
  echo "== $label"
  wrk -t2 -c64 -d"${seconds}s" --latency "$@" | grep -E "Requests/sec|Latency|  50%|  99%|Non-2xx|errors"
}
run "GET /api/scheduler/stats, bootstrap token" -H "Authorization: Bearer $boot" "$base/api/scheduler/stats"
run "GET /api/scheduler/stats, named token" -H "Authorization: Bearer $named" "$base/api/scheduler/stats"
run "GET /api/scheduler/stats, revoked token (401, looked up each time)" -H "Authorization: Bearer $revoked" "$base/api/scheduler/stats"
run "GET /healthz, no token" "$base/healthz"
echo
curl -sf -H "Authorization: Bearer $boot" "$base/api/scheduler/tokens" | grep -o '"name":"bench-viewer"[^}]*'
