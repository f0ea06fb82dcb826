#!/usr/bin/env bash
# The executions API with a long history (results in docs/performance.md):
#   bench/history_load.sh sqlite|postgres [ROWS] [SECONDS]
# Writes ROWS (default 10,000,000) successful executions of 1,000 tasks straight into a
# fresh database (the last ROWS/1,000 seconds, within the retention), starts the example
# server (build/examples/embedded/cronkit_embedded, whose "greet" function does nothing) with the
# 1,000 tasks firing every second, and measures, SECONDS each (default 15), at a steady 200
# requests a second (bench/paced_get.mjs; CRONKIT_BENCH_RATE sets the rate) and saturated
# by wrk (4 connections): the first page, the 1,000th page by cursor (`before`), the
# 1,000th page by offset (`page=1000`, for comparison), and a task's first page.
# PostgreSQL runs durable, started and stopped here.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: bench/history_load.sh sqlite|postgres [ROWS] [SECONDS]}
rows=${2:-10000000}
seconds=${3:-15}
rate=${CRONKIT_BENCH_RATE:-200}  # requests a second of the paced run
command -v wrk >/dev/null || { echo "history_load: wrk is needed (apt-get install wrk)"; exit 1; }
server_bin=build/examples/embedded/cronkit_embedded
dir=$(mktemp -d)
chmod 755 "$dir"
state=$dir/pg.url
server=
cleanup() {
  [ -n "$server" ] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
  [ "$kind" = postgres ] && tests/support/postgres.sh stop "$state" >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
now=$(date +%s%3N)
base=$((now - rows - 60000))  # ms of the first second (rows / 1,000 tasks seconds ago)

case $kind in
sqlite)
  db="sqlite:$dir/cronkit.db"
  "$server_bin" migrate --db "$db" >/dev/null
  sql() { sqlite3 "$dir/cronkit.db" "$@"; }
  first_id="printf('%08x-%04x-7%03x-8000-%012x', (ms >> 16), (ms & 65535), i % 1000, i)"
  started=$(date +%s)
  sql "PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 1000)
    INSERT INTO scheduled_tasks (id, name, cron_expression, timezone, type, function_name,
                                 created_at, updated_at)
    SELECT printf('0190b8c4-0000-7000-8000-%012d', i), 'load ' || i, '* * * * * *', 'UTC',
           'function', 'greet', $base, $base FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $rows),
    r(i, ms) AS (SELECT i, $base + (i / 1000) * 1000 FROM n)
    INSERT INTO task_execution_logs (id, task_id, status, scheduled_for, queued_at, started_at,
                                     finished_at, attempts, duration_ms, node_id, result_summary)
    SELECT $first_id, printf('0190b8c4-0000-7000-8000-%012d', i % 1000), 'success', ms, ms,
           ms + 1, ms + 2, 1, 1, 'load', 'hello' FROM r;"
  ;;
postgres)
  CRONKIT_PG_DURABLE=1 tests/support/postgres.sh start "$state" >/dev/null
  db=$(cat "$state")
  "$server_bin" migrate --db "$db" >/dev/null
  sql() { psql -X -q -At "$db" -c "$1"; }
  started=$(date +%s)
  sql "INSERT INTO scheduled_tasks (id, name, cron_expression, timezone, type, function_name,
                                    created_at, updated_at)
       SELECT '0190b8c4-0000-7000-8000-' || lpad(i::text, 12, '0'), 'load ' || i, '* * * * * *',
              'UTC', 'function', 'greet', $base, $base FROM generate_series(0, 999) i"
  sql "INSERT INTO task_execution_logs (id, task_id, status, scheduled_for, queued_at, started_at,
                                        finished_at, attempts, duration_ms, node_id,
                                        result_summary, owner)
       SELECT lpad(to_hex(ms >> 16), 8, '0') || '-' || lpad(to_hex(ms & 65535), 4, '0') || '-7'
                || lpad(to_hex(i % 1000), 3, '0') || '-8000-' || lpad(to_hex(i), 12, '0'),
              '0190b8c4-0000-7000-8000-' || lpad((i % 1000)::text, 12, '0'), 'success', ms, ms,
              ms + 1, ms + 2, 1, 1, 'load', 'hello', 'load'
         FROM (SELECT i, $base + (i / 1000) * 1000 AS ms
                 FROM generate_series(0::bigint, $rows - 1) i) r"
  sql "VACUUM ANALYZE task_execution_logs"
  # The bulk load's gigabytes of dirty pages are written out before measuring, as a server
  # running for a while would have them.
  sql "CHECKPOINT"
  ;;
*)
  echo "unknown kind $kind" >&2
  exit 2
  ;;
esac
echo "wrote $rows executions in $(($(date +%s) - started)) s"

log=$dir/server.log
"$server_bin" serve --port 0 --db "$db" --max-concurrency 1000 2>"$log" &
server=$!
for _ in $(seq 300); do
  url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | sed 's/listening on //' || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; exit 1; }
sleep 5  # the 1,000 tasks firing
cursor=$(sql "SELECT id FROM task_execution_logs ORDER BY id DESC LIMIT 1 OFFSET 19979")
echo "server at $url; the cursor of page 1,000: $cursor"
run() {  # LABEL PATH
  local bytes
  bytes=$(curl -s "$url$2" | wc -c)
  echo
  echo "== $1 ($bytes bytes)"
  echo "at a steady $rate requests a second:"
  node bench/paced_get.mjs "$url$2" "$rate" "$seconds"
  echo "saturated (wrk, 4 connections):"
  wrk -t2 -c4 -d"${seconds}s" --latency "$url$2" | grep -E "Requests/sec|  50%|  99%|Non-2xx|errors"
}
# Warmed up first: every list once for 2 s, so that no measurement pays for the first
# connections, statements and pages read.
for path in "/api/scheduler/executions?pageSize=20" \
  "/api/scheduler/executions?pageSize=20&before=$cursor" \
  "/api/scheduler/executions?page=1000&pageSize=20" \
  "/api/scheduler/executions?pageSize=20&taskId=0190b8c4-0000-7000-8000-000000000007"; do
  wrk -t2 -c4 -d2s "$url$path" >/dev/null
done
run "first page" "/api/scheduler/executions?pageSize=20"
run "page 1,000 by cursor" "/api/scheduler/executions?pageSize=20&before=$cursor"
run "page 1,000 by offset" "/api/scheduler/executions?page=1000&pageSize=20"
run "a task's first page" "/api/scheduler/executions?pageSize=20&taskId=0190b8c4-0000-7000-8000-000000000007"
echo
echo "stats: $(curl -s "$url/api/scheduler/stats")"
