#!/usr/bin/env bash
# Sets up, builds and runs cronkit. Arguments go to the program; by default it serves the
# API on http://127.0.0.1:3399 with its data in ./data/cronkit.db.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
if [ $# -eq 0 ]; then set -- serve; fi
# The checkout's server, not the installed package's: /etc/cronkit/cronkit.toml is not read
# unless asked for (--config or CRONKIT_CONFIG).
export CRONKIT_CONFIG=${CRONKIT_CONFIG:-/dev/null}
exec build/cronkit "$@"
