#!/usr/bin/env bash
# Builds the Debian packages from the release build: build/packages/cronkit_VERSION_amd64.deb
# (the server as a systemd service) and cronkit-dbgsym_VERSION_amd64.ddeb (its debug
# symbols). CPack's DEB generator: cmake/package.cmake says why and what goes in.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release
rm -rf build/packages
cpack --config build/CPackConfig.cmake >/dev/null
ls build/packages/*.deb build/packages/*.ddeb
