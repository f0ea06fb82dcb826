#!/usr/bin/env bash
# Builds the admin UI (web/) into web/dist, with a gzip copy beside each text file, for the
# C++ build to embed (src/web). Installs web/'s packages with npm ci when the lockfile
# changed, and skips the build when no input changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

inputs=$(find web -path web/node_modules -prune -o -path web/dist -prune -o \
  -name '*.d.ts' -prune -o -type f ! -name '.build-stamp' -print | LC_ALL=C sort)
stamp=$( (node --version; sha256sum $inputs) | sha256sum | cut -d' ' -f1)
if [ -f web/dist/index.html ] && [ "$(cat web/.build-stamp 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

cd web
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
rm -rf dist
npm run build
find dist -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' -o -name '*.json' \) \
  -exec gzip -9 -n -k -f {} +
echo "$stamp" > .build-stamp
