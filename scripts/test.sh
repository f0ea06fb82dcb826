#!/usr/bin/env bash
# Sets up, builds and runs every test: format check, unit tests (again under a second
# process time zone where it could matter, again with ASan+UBSan, the engine's under TSan; the
# store's on SQLite and on a private PostgreSQL server that ctest starts), the REST API against
# the real binary (hostile input, faults, a SIGKILL under load, security, an upgrade; again
# under ASan+UBSan, and what drives the server's threads under TSan), the Debian package (built, checked, installed in a throwaway root), the
# cluster on PostgreSQL, the admin UI's unit tests and end-to-end tests in Chromium
# (screenshots in build/e2e-artifacts), the differential test against croner, and the
# fuzzers (cron parser, task spec, channel spec, HTTP request path).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
step() {
  local name=$1
  shift
  echo
  echo "==== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "==== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "==== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

# The sanitizer and fuzzer builds run in the background at the lowest priority while the
# tests before them run (those wait on timers and I/O more than they compute): the tests
# keep the processor when they want it, and CI takes about ten minutes less.
declare -A background_pid background_log
background() {
  local name=$1
  shift
  background_log[$name]=$(mktemp)
  nice -n 19 "$@" >"${background_log[$name]}" 2>&1 &
  background_pid[$name]=$!
}
finish() {
  local name=$1 status=0
  wait "${background_pid[$name]}" || status=$?
  cat "${background_log[$name]}"
  rm -f "${background_log[$name]}"
  return "$status"
}

scripts/setup.sh || exit 1

step "format" scripts/check-format.sh
step "build (release)" scripts/build.sh release
# First, with nothing else running: its servers are killed on a schedule and their work is
# taken over within seconds.
step "cluster tests: 3 servers on PostgreSQL, one killed every 15 s; a database outage; a command task on 2; jitter, backfill and a run limit under kills; catch-up after every server was down; notifications taken over from a killed server; a failover from a killed primary to its promoted standby; applies through any server, scheduled by all; a token revoked through one server refused by another within a second; the audit trail read from either" \
  node --test --test-concurrency=1 tests/cluster/
background asan scripts/build.sh asan-ubsan
step "unit tests, TZ=UTC" env TZ=UTC ctest --preset release
# Again where the process's time zone could matter: not the store, the HTTP client and
# server, the command runner and the crash tests, whose times are all UTC milliseconds.
step "unit tests that could depend on the process's time zone, TZ=Pacific/Chatham" \
  env TZ=Pacific/Chatham ctest --preset release \
  -E "^Backends/|^HttpRunnerTest|^HttpServerTest|^CommandRunnerTest|^CommandOutput|^Crash\."
# Two files at a time: each starts its own server on a free port, and most of their time is
# spent waiting for what the server does.
step "API tests against the binary" node --test --test-concurrency=2 tests/api/
step "Debian package: built, lintian, contents, the unpacked program under a NOTIFY_SOCKET; installed, upgraded, removed and purged in a throwaway root" \
  tests/package/package_test.sh
step "embedding: the example built out of tree with find_package(cronkit) and with pkg-config against an install, each serving its own function" \
  tests/package/embed_test.sh
step "admin UI unit tests (Vitest)" scripts/web.sh test
step "admin UI in Chromium against the binary" scripts/web.sh e2e
step "build (asan-ubsan), in the background since the release build" finish asan
background tsan scripts/build.sh tsan
step "unit tests under ASan+UBSan" env TZ=America/St_Johns ctest --preset asan-ubsan
step "API tests against the ASan+UBSan binary" \
  env CRONKIT_BIN=build-asan/cronkit ASAN_OPTIONS=detect_leaks=1 node --test tests/api/
step "build (tsan), in the background since the ASan+UBSan build" finish tsan
background fuzz tests/fuzzing/run.sh --build-only
step "engine, worker pool, HTTP client and server, command runner, event and store tests under TSan" \
  env TSAN_OPTIONS=halt_on_error=1 ctest --preset tsan -R "Engine|Timetable|HttpRunner|CommandRunner|CommandOutput|HttpServer|EventHub|Store|Cluster"
# Under TSan, the API tests that drive the server's threads (requests, the scheduler, the
# runners, the recorder, the event stream, the outbox); the rest check answers and
# settings, and run against the release and ASan+UBSan binaries.
tsan_api=(apply audit backfill channels commands events faults history hostile kill limits metrics
  notification-faults notifications outbound overload policies restart roles secrets tasks)
tsan_api=("${tsan_api[@]/#/tests/api/}")
step "API tests against the TSan binary (the HTTP server, the engine, the recorder)" \
  env CRONKIT_BIN=build-tsan/cronkit TSAN_OPTIONS=halt_on_error=1 \
  node --test "${tsan_api[@]/%/.test.mjs}"
step "differential test against croner" tests/differential/run.sh build
fuzz() { finish fuzz && tests/fuzzing/run.sh; }
step "fuzzing: cron parser, task spec, channel spec, HTTP request path (built in the background since the TSan build)" fuzz

echo
if [ "$failed" -gt 0 ]; then
  printf 'failed step: %s\n' "${failures[@]}"
fi
echo "cronkit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
