#!/usr/bin/env bash
# Builds the libFuzzer targets (clang) and runs each for a bounded time from the committed
# corpus. New inputs go to a temporary directory; the committed corpus is only read.
#   tests/fuzzing/run.sh            CRONKIT_FUZZ_SECONDS=60 by default
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
scripts/build.sh fuzz --target cron_parse_fuzzer
seconds=${CRONKIT_FUZZ_SECONDS:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
# -timeout: any single input slower than this is a failure ("never a long search").
status=0
build-fuzz/tests/fuzzing/cron_parse_fuzzer -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -dict=tests/fuzzing/cron.dict \
  -artifact_prefix="$work/" "$work/corpus" tests/fuzzing/corpus/cron_parse \
  >"$work/log" 2>&1 || status=$?
grep -E '^(#[0-9]+ *(INITED|DONE)|stat::number_of_executed_units|Done |SUMMARY)' "$work/log" || true
if [ "$status" -ne 0 ]; then
  tail -n 60 "$work/log"
  for f in "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-*; do
    [ -e "$f" ] || continue
    echo "fuzzer found $(basename "$f"); input (base64): $(base64 -w0 "$f")"
  done
  exit "$status"
fi
