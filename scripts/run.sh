#!/usr/bin/env bash
# Sets up, builds and runs cronkit. Arguments go to the program (default: --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
if [ $# -eq 0 ]; then set -- --help; fi
exec build/cronkit "$@"
