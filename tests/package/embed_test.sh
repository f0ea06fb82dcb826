#!/usr/bin/env bash
# cronkit for embedders: `cmake --install` of the library into a temp prefix; each public
# header compiled alone; then the example (examples/embedded) built out of tree against it
# with find_package(cronkit), and again with pkg-config alone; each program serves, and runs
# a function of its own.
#   tests/package/embed_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() {
  echo "embed test: $*" >&2
  exit 1
}
tmp=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

scripts/build.sh release >/dev/null
cmake --install build --prefix "$tmp/prefix" --component dev >/dev/null
# The release build installs to /usr, its libraries in Debian's multiarch directory.
lib=lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in include/cronkit/cronkit.h include/cronkit/registry.h "$lib/libcronkit.a" \
  "$lib/cmake/cronkit/cronkitConfig.cmake" "$lib/cmake/cronkit/cronkitConfigVersion.cmake" \
  "$lib/cmake/cronkit/cronkitTargets.cmake" "$lib/pkgconfig/cronkit.pc"; do
  [ -f "$tmp/prefix/$f" ] || fail "the install lacks $f"
done

echo "-- each public header compiles alone, and includes nothing of src/"
for header in "$tmp/prefix/include/cronkit/"*.h; do
  name=cronkit/$(basename "$header")
  ! grep -E '^#include "' "$header" | grep -v '"cronkit/' || fail "$name includes a private header"
  echo "#include <$name>" | g++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$tmp/prefix/include" \
    -x c++ - || fail "$name does not compile alone"
done

echo "-- find_package(cronkit) from a build of its own"
cmake -S examples/embedded -B "$tmp/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.txt" 2>&1 || {
  cat "$tmp/configure.txt"
  fail "the example does not configure against the install"
}
cmake --build "$tmp/cmake-build" >"$tmp/build.txt" 2>&1 || {
  cat "$tmp/build.txt"
  fail "the example does not build against the install"
}
# A version the package does not satisfy is refused.
mkdir -p "$tmp/too-new"
cat >"$tmp/too-new/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(too_new LANGUAGES CXX)
find_package(cronkit 99.0 REQUIRED)
CMAKE
! cmake -S "$tmp/too-new" -B "$tmp/too-new/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  >/dev/null 2>&1 || fail "find_package(cronkit 99.0) was satisfied"

echo "-- pkg-config alone"
# shellcheck disable=SC2046
g++ -std=c++20 -O1 examples/embedded/main.cpp -o "$tmp/pkg-config-embedded" \
  $(PKG_CONFIG_PATH="$tmp/prefix/$lib/pkgconfig" pkg-config --cflags --libs cronkit) ||
  fail "the example does not build with pkg-config's flags"

# Each program: its version, then a server whose own function runs.
for program in "$tmp/cmake-build/cronkit_embedded" "$tmp/pkg-config-embedded"; do
  "$program" --version | grep -q '^cronkit [0-9]' || fail "$program --version"
  rm -f "$tmp/log" "$tmp/db"
  CRONKIT_CONFIG=/dev/null "$program" serve --port 0 --db "sqlite:$tmp/db" 2>"$tmp/log" &
  server=$!
  base=
  for _ in $(seq 1 200); do
    base=$(grep -o 'listening on http://[0-9.:]*' "$tmp/log" | sed 's/listening on //') || true
    [ -n "$base" ] && break
    sleep 0.05
  done
  [ -n "$base" ] || fail "$program did not start: $(cat "$tmp/log")"
  id=$(curl -sf -X POST "$base/api/scheduler/tasks" -H 'content-type: application/json' \
    -d '{"name":"embedded","cronExpression":"0 0 1 1 *","type":"function","functionName":"greet"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])') ||
    fail "$program: creating a task of its own function"
  execution=$(curl -sf -X POST "$base/api/scheduler/tasks/$id/trigger" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["executionId"])')
  summary=
  for _ in $(seq 1 200); do
    summary=$(curl -sf "$base/api/scheduler/executions/$execution" |
      python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["status"], d["resultSummary"] or "")')
    [ "${summary%% *}" = success ] && break
    sleep 0.05
  done
  [ "$summary" = "success hello from embedded" ] || fail "$program: the function ran as: $summary"
  kill "$server"
  wait "$server" || fail "$program did not stop cleanly"
  server=
done
echo "embedding: ok"
