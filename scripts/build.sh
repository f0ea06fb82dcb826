#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release, which leaves build/cronkit),
# after the admin UI (scripts/build-web.sh).
# Further arguments go to cmake --build (e.g. --target NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
# Every preset but the fuzzers' embeds the admin UI.
if [ "$preset" != fuzz ]; then scripts/build-web.sh; fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "${CRONKIT_JOBS:-2}" "$@"
