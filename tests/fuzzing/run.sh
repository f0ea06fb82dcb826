#!/usr/bin/env bash
# Builds the libFuzzer targets (clang) and runs each for a bounded time from its committed
# corpus (tests/fuzzing/corpus/<target>). New inputs go to a temporary directory; the
# committed corpus is only read. A crash, a hang (-timeout) or an input that grows memory
# past -rss_limit_mb fails the run and prints the input, to be committed as a regression.
#   tests/fuzzing/run.sh                  every target, CRONKIT_FUZZ_SECONDS=20 each
#   tests/fuzzing/run.sh task_spec        one target
#   tests/fuzzing/run.sh --build-only     builds them, runs none
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build_only=false
if [ "${1:-}" = --build-only ]; then
  build_only=true
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cron_parse task_spec channel_spec http_request)
scripts/build.sh fuzz --target "${targets[@]/%/_fuzzer}"
if $build_only; then exit 0; fi
seconds=${CRONKIT_FUZZ_SECONDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A dict=([cron_parse]=cron.dict [task_spec]=task.dict [channel_spec]=channel.dict
  [http_request]=http.dict)
status=0
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  echo "-- $target: ${seconds} s"
  code=0
  build-fuzz/tests/fuzzing/${target}_fuzzer -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -dict="tests/fuzzing/${dict[$target]}" \
    -artifact_prefix="$work/$target-" "$work/$target" "tests/fuzzing/corpus/$target" \
    >"$work/$target.log" 2>&1 || code=$?
  grep -E '^(#[0-9]+ *(INITED|DONE)|stat::number_of_executed_units|Done |SUMMARY)|broken:' \
    "$work/$target.log" || true
  if [ "$code" -ne 0 ]; then
    status=$code
    tail -n 60 "$work/$target.log"
    for f in "$work/$target"-crash-* "$work/$target"-timeout-* "$work/$target"-leak-* \
      "$work/$target"-oom-*; do
      [ -e "$f" ] || continue
      echo "fuzzer found $(basename "$f"); input (base64): $(base64 -w0 "$f")"
    done
  fi
done
exit "$status"
