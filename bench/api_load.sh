#!/usr/bin/env bash
# API load over loopback with wrk (results in docs/performance.md):
#   bench/api_load.sh [SECONDS]
# Starts build/cronkit on a fresh database with 10,000 tasks (100 of them firing every
# second, so the scheduler keeps working), then runs wrk with 64 connections against a page
# of 20 tasks, the stats, and /healthz (a static answer, for the ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
command -v wrk >/dev/null || { echo "api_load: wrk is needed (apt-get install wrk)"; exit 1; }
dir=$(mktemp -d)
log="$dir/server.log"
build/cronkit serve --port 0 --db "sqlite:$dir/cronkit.db" --max-concurrency 64 2>"$log" &
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
for path in "/api/scheduler/tasks?page=7&pageSize=20" "/api/scheduler/stats" "/healthz"; do
  echo
  echo "== GET $path"
  wrk -t2 -c64 -d"${seconds}s" --latency "$base$path" | grep -E "Requests/sec|Latency|  50%|  99%|Non-2xx|errors"
done
