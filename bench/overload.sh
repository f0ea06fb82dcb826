#!/usr/bin/env bash
# The overload curve (docs/performance.md): every-second no-op function tasks offered at
# several rates, and how many executions start per second, how late, how many firings are
# skipped as too late, and the peak memory, on SQLite, or on PostgreSQL with one or three
# servers (each run on a fresh database; PostgreSQL durable, as in production):
#   bench/overload.sh sqlite|pg1|pg3 SECONDS RATE...
#   bench/overload.sh pg3 20 5000 10000 15000 20000 30000
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: bench/overload.sh sqlite|pg1|pg3 SECONDS RATE...}
seconds=${2:?seconds}
shift 2
load=build/bench/cronkit_engine_load
dir=$(mktemp -d)
state=$dir/pg.url
cleanup() {
  [ "$kind" = sqlite ] || tests/support/postgres.sh stop "$state" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
if [ "$kind" != sqlite ]; then
  CRONKIT_PG_DURABLE=1 tests/support/postgres.sh start "$state" >/dev/null
fi
run=0
for rate in "$@"; do
  run=$((run + 1))
  case $kind in
    sqlite) "$load" cluster "sqlite:$dir/run$run.db" 1 "$rate" "$seconds" ;;
    pg1 | pg3)
      url=$(cat "$state")
      psql -q "$url" -c "CREATE DATABASE run$run" >/dev/null
      "$load" cluster "${url%/*}/run$run" "${kind#pg}" "$rate" "$seconds" 4
      psql -q "$url" -c "DROP DATABASE run$run" >/dev/null
      ;;
    *) echo "unknown kind $kind" >&2; exit 2 ;;
  esac
done
