#!/usr/bin/env bash
# Instructions per execution at saturation, counted by callgrind (the same on any machine
# for the same binary and input, unlike executions/s; results in docs/performance.md):
#   bench/instructions.sh [N] [MODE]  CRONKIT_BENCH=other/cronkit_engine_load for another build
# Runs `cronkit_engine_load MODE N` (MODE: throughput, the default, or notify) under valgrind; the bench marks the measured span
# (from the claims until every state is stored) with callgrind's client requests.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
mode=${2:-throughput}
bench=${CRONKIT_BENCH:-build/bench/cronkit_engine_load}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$dir/out.%p" "$bench" "$mode" "$n" 2>/dev/null |
  sed 's/; per execution:.*//'
measured=$(grep -l '^desc: Trigger: Client Request: measured' "$dir"/out.* | head -1)
total=$(awk '/^summary:/ { print $2 }' "$measured")
echo "instructions: $total in the measured span, $((total / n)) per execution (callgrind)"
