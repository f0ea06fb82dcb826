#!/usr/bin/env bash
# The soak run of docs/reliability.md:
#   bench/soak.sh [MINUTES]            30 by default; results in build/soak/
# Starts the example server (build/examples/embedded/cronkit_embedded: cronkit plus a no-op "greet"
# function) on a fresh SQLite database with 1,000 tasks firing every second, puts wrk on the
# API for the whole run (a page of tasks, the stats, an execution page), samples the
# server's resident memory every 10 s, and at the end reports per minute: executions
# started, p50/p99 firing lag (started_at - scheduled_for, from the database) and RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
seconds=$((minutes * 60))
command -v wrk >/dev/null || { echo "soak: wrk is needed (apt-get install wrk)"; exit 1; }
out=build/soak
rm -rf "$out"
mkdir -p "$out"
bin=${CRONKIT_BIN:-build/examples/embedded/cronkit_embedded}
"$bin" serve --port 0 --db "sqlite:$out/cronkit.db" --max-concurrency 1000 2>"$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  base=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$out/server.log" | sed 's/listening on //' || true)
  [ -n "$base" ] && break
  sleep 0.1
done
echo "server $server at $base; $minutes min"
node - "$base" <<'JS'
const base = process.argv[2];
for (let i = 0; i < 1000; i += 50) {
  await Promise.all(Array.from({ length: 50 }, (_, k) => fetch(base + "/api/scheduler/tasks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: `soak ${i + k}`, cronExpression: "* * * * * *", type: "function", functionName: "greet" }),
  }).then((r) => { if (r.status !== 201) throw new Error(`create: ${r.status}`); })));
}
console.log("1,000 tasks firing every second");
JS
started=$(date +%s)

cat >"$out/api.lua" <<'LUA'
-- Rotates through three reads of the API.
local paths = {"/api/scheduler/tasks?page=7&pageSize=20", "/api/scheduler/stats",
               "/api/scheduler/executions?page=1&pageSize=20"}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
wrk -t2 -c16 -d"${seconds}s" --latency -s "$out/api.lua" "$base" >"$out/wrk.txt" 2>&1 &
load=$!

echo "elapsed_s,rss_kib" >"$out/rss.csv"
while kill -0 "$load" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
  echo "$(($(date +%s) - started)),$rss" >>"$out/rss.csv"
  sleep 10
done
wait "$load" || true
kill -TERM "$server"
wait "$server" || true
trap - EXIT

node - "$out" "$started" <<'JS'
const [out, started] = [process.argv[2], Number(process.argv[3]) * 1000];
const { execFileSync } = await import("node:child_process");
const { readFileSync, writeFileSync } = await import("node:fs");
const sql = (q) => execFileSync("sqlite3", ["-readonly", `${out}/cronkit.db`, q], { encoding: "utf8", maxBuffer: 1 << 30 });
const rows = sql("SELECT scheduled_for, started_at FROM task_execution_logs WHERE started_at IS NOT NULL ORDER BY scheduled_for").trim().split("\n");
const byMinute = new Map();
for (const row of rows) {
  const [at, start] = row.split("|").map(Number);
  const minute = Math.floor((at - started) / 60000);
  if (!byMinute.has(minute)) byMinute.set(minute, []);
  byMinute.get(minute).push(start - at);
}
const rss = readFileSync(`${out}/rss.csv`, "utf8").trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
const q = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const lines = ["minute,executions,lag_p50_ms,lag_p99_ms,lag_max_ms,rss_mib_at_end"];
for (const [minute, lags] of [...byMinute.entries()].sort((a, b) => a[0] - b[0])) {
  if (minute < 0) continue;
  lags.sort((a, b) => a - b);
  const sample = rss.filter(([s]) => s <= (minute + 1) * 60).at(-1);
  lines.push([minute, lags.length, q(lags, 0.5), q(lags, 0.99), lags.at(-1), sample ? (sample[1] / 1024).toFixed(1) : ""].join(","));
}
writeFileSync(`${out}/minutes.csv`, lines.join("\n") + "\n");
console.log(lines.join("\n"));
const count = (w) => sql(`SELECT count(*) FROM task_execution_logs ${w}`).trim();
console.log(`executions: ${count("")} (success ${count("WHERE status = 'success'")}, failed ${count("WHERE status = 'failed'")}, timed out ${count("WHERE status = 'timed_out'")}, skipped ${count("WHERE status = 'skipped'")}, unfinished ${count("WHERE status IN ('queued','running')")})`);
JS
grep -E "Requests/sec|Latency|requests in|Non-2xx|Socket errors|  50%|  99%" "$out/wrk.txt"
