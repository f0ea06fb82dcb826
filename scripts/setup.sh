#!/usr/bin/env bash
# Installs everything cronkit needs to build, run and test on Debian 12 (run as root).
# Installs only what is missing; with everything present it changes nothing.
set -euo pipefail

packages=(
  g++ cmake ninja-build git ca-certificates
  clang-format                         # the format check
  clang-16 libclang-rt-16-dev          # libFuzzer
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev
  libsqlite3-dev                       # the default store
  libpq-dev                            # the PostgreSQL store (libpq)
  postgresql-15                        # tests start a private server (initdb, pg_ctl)
  libboost-json1.81-dev                # task payloads, the API's JSON (brings Boost.Beast)
  libspdlog-dev                        # logging
  libcurl4-openssl-dev                 # http tasks
  libsystemd-dev                       # sd_notify: readiness and the watchdog under systemd
  libyaml-cpp-dev                      # cronkit apply / export: tasks as YAML files
  libssl-dev                           # signing notifications (HMAC-SHA256)
  tzdata
  curl                                 # the seed's smoke test, as written
  python3-aiosmtpd                     # the mail server the email notification tests send to
  sqlite3                              # tests read the database: refused requests wrote nothing
  wrk                                  # the API load benchmark (bench/api_load.sh)
  chromium                             # the admin UI's end-to-end tests (playwright-core)
  dpkg-dev help2man lintian            # the Debian package: dpkg-shlibdeps, its man page, its check
  pkg-config                           # libsystemd's flags; cronkit.pc's test
  systemd adduser init-system-helpers  # the package's test: systemd-analyze, its maintainer scripts
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js runs the API tests and the differential test against croner; any Node >= 18.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
