#!/usr/bin/env bash
# The engine's and the API's benchmarks for two builds in one sitting, the two alternating,
# so that the machine's neighbours weigh on both alike (results in docs/performance.md):
#   bench/side_by_side.sh OTHER_BUILD_DIR [ROUNDS]
# OTHER_BUILD_DIR is the build directory of another checkout (say of the previous commit:
# git worktree add /tmp/base HEAD~1 && cd /tmp/base && scripts/build.sh release), whose
# bench/cronkit_engine_load and cronkit are run beside this checkout's build/.
set -euo pipefail
cd "$(dirname "$0")/.."
other=${1:?usage: bench/side_by_side.sh OTHER_BUILD_DIR [ROUNDS]}
rounds=${2:-3}
run() {  # LABEL BUILD_DIR ARGS...
  local label=$1 dir=$2
  shift 2
  printf '%-6s ' "$label"
  "$dir/bench/cronkit_engine_load" "$@" | sed 's/; per execution:/\n       per execution:/'
}
for round in $(seq "$rounds"); do
  echo "== round $round"
  for measurement in "throughput 50000" "manual 5000" "burst 10000" "lag 20" "http 1000"; do
    # shellcheck disable=SC2086
    run other "$other" $measurement
    # shellcheck disable=SC2086
    run this build $measurement
  done
done
echo "== API (bench/api_load.sh, 5 s a path)"
for round in $(seq "$rounds"); do
  echo "-- other, round $round"
  CRONKIT_BIN="$other/cronkit" bench/api_load.sh 5 | grep -E "^==|Requests/sec|  99%|cache:"
  echo "-- this, round $round"
  CRONKIT_BIN=build/cronkit bench/api_load.sh 5 | grep -E "^==|Requests/sec|  99%|cache:"
done
