#!/usr/bin/env bash
# Fails if any file differs from what its formatter would make of it: clang-format for
# C++, Prettier for the TypeScript, Vue and JavaScript of the UI and the API tests.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z '*.cpp' '*.h' | xargs -0 -r clang-format --dry-run --Werror
scripts/web.sh check-format >/dev/null
