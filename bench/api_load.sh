#!/usr/bin/env bash
# API load over loopback with wrk (results in docs/performance.md):
#   bench/api_load.sh [SECONDS]          CRONKIT_BIN=other/cronkit to measure another build
# Starts build/cronkit on a fresh database with 10,000 tasks (100 of them firing every
# second, so the scheduler keeps working), then runs wrk with 64 connections against a page
# of 20 tasks, the stats, and /healthz (a static answer, for the ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
command -v wrk >/dev/null || { echo "api_load: wrk is needed (apt-get install wrk)"; exit 1; }
dir=$(mktemp -d)
log="$dir/server.log"
"${CRONKIT_BIN:-build/cronkit}" serve --port 0 --db "sqlite:$dir/cronkit.db" --max-concurrency 64 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  base=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | sed 's/listening on //' || true)
  [ -n "$base" ] && break
  sleep 0.1
done
echo "server at $base"
node - "$base" <<'JS'
const base = process.argv[2];
const post = (body) => fetch(base + "/api/scheduler/tasks", {
  method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const jobs = [];
for (let i = 0; i < 10000; ++i) {
  jobs.push(post({
    name: `load ${i}`,
    cronExpression: i < 100 ? "* * * * * *" : "0 0 3 * * *",
    type: "function",
    functionName: "cleanup-logs",
  }));
  if (jobs.length === 64) await Promise.all(jobs.splice(0));
}
await Promise.all(jobs);
console.log("created 10000 tasks, 100 firing every second");
JS
sleep 2
cache() {
  curl -s "$base/metrics" | awk '/^cronkit_task_page_cache_(hits|misses)_total/ { printf "%s ", $2 }'
}
run() {  # LABEL WRK-ARGS...
  local label=$1
  shift
  local before after
  before=$(cache)
  echo
  echo "== $label"
  wrk -t2 -c64 -d"${seconds}s" --latency "$@" | grep -E "Requests/sec|Latency|  50%|  99%|Non-2xx|errors"
  after=$(cache)
  read -r h0 m0 <<<"$before"
  read -r h1 m1 <<<"$after"
  echo "   page cache: $((h1 - h0)) hits, $((m1 - m0)) misses"
}
run "GET /api/scheduler/tasks?page=7&pageSize=20" "$base/api/scheduler/tasks?page=7&pageSize=20"
run "GET /api/scheduler/tasks?page=7&pageSize=20, never from the cache" -s bench/uncached_page.lua "$base"
run "GET /api/scheduler/tasks, a random page of 500 each time" -s bench/random_page.lua "$base"
run "GET /api/scheduler/stats" "$base/api/scheduler/stats"
run "GET /healthz" "$base/healthz"
