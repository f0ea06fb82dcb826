#!/usr/bin/env bash
# Fails if any C++ file differs from what clang-format would make of it.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z '*.cpp' '*.h' | xargs -0 -r clang-format --dry-run --Werror
