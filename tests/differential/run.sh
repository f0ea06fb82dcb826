#!/usr/bin/env bash
# The differential test: croner 11 (pinned by package-lock.json) answers 20,000 random
# cases; the engine and the CLI must answer the same.
#   tests/differential/run.sh [BUILD_DIR]
# CRONKIT_DIFF_COUNT and CRONKIT_DIFF_SEED change the size and the sample.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$root/${1:-build}" && pwd)
count=${CRONKIT_DIFF_COUNT:-20000}
seed=${CRONKIT_DIFF_SEED:-1}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
echo "generating $count cases with croner (seed $seed)"
node generate.mjs --count "$count" --seed "$seed" > "$work/cases.txt"
TZ=UTC "$build/tests/differential/cronkit_differential_check" "$work/cases.txt"
echo "again under TZ=Asia/Kathmandu"
TZ=Asia/Kathmandu "$build/tests/differential/cronkit_differential_check" "$work/cases.txt" | tail -1
node cli_check.mjs "$work/cases.txt" "$build/cronkit"
