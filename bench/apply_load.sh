#!/usr/bin/env bash
# What an apply costs: starts the release build on a fresh store (sqlite, or postgres on a
# private server) and runs bench/apply_load.mjs against it.
#   [CRONKIT_BIN=other/cronkit] bench/apply_load.sh sqlite|postgres [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-sqlite}
n=${2:-1000}
rounds=${3:-5}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true;
      [ "$store" = postgres ] && tests/support/postgres.sh stop "$work/pg.url" >/dev/null 2>&1;
      rm -rf "$work"' EXIT
if [ "$store" = postgres ]; then
  tests/support/postgres.sh start "$work/pg.url" >/dev/null
  db=$(cat "$work/pg.url")
else
  db="sqlite:$work/cronkit.db"
fi
CRONKIT_CONFIG=/dev/null "${CRONKIT_BIN:-build/cronkit}" serve --port 0 --db "$db" 2>"$work/log" &
server=$!
for _ in $(seq 100); do
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/log" | head -1 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$work/log"; exit 1; }
node bench/apply_load.mjs "$base" "$n" "$rounds"
