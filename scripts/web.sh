#!/usr/bin/env bash
# Runs an npm script of the admin UI (web/) with a recent enough Node.js, its packages
# installed: scripts/web.sh test | scripts/web.sh build | scripts/web.sh e2e
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
cd web
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run "$@"
