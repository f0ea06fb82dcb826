#!/usr/bin/env bash
# A private PostgreSQL server for the tests, on a free loopback port:
#   tests/support/postgres.sh start STATE   initdb into a new temporary directory, start the
#                                           server, write its URL to STATE (a file)
#   tests/support/postgres.sh stop STATE    stop the server and remove its directory
#   tests/support/postgres.sh halt STATE    stop the server, keeping its data (an outage)
#   tests/support/postgres.sh resume STATE  start it again on the same port
# For a failover: a primary that commits only once a standby named "standby" has the
# transaction (synchronous replication), its streaming standby, and the two events:
#   tests/support/postgres.sh primary STATE          start, as a primary (CRONKIT_PG_ASYNC=1:
#                                                    replicating asynchronously)
#   tests/support/postgres.sh standby STATE PRIMARY  a standby of the primary whose state
#                                                    file is PRIMARY (pg_basebackup)
#   tests/support/postgres.sh kill STATE             SIGKILL the server (a crash)
#   tests/support/postgres.sh promote STATE          promote a standby to primary
# Run as root (as CI does), the server runs as the postgres user: PostgreSQL refuses root.
# The tests connect as the superuser `cronkit` (trust, loopback only).
set -euo pipefail

command=${1:?start or stop}
state=${2:?state file}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "postgres.sh: no PostgreSQL server found under /usr/lib/postgresql (scripts/setup.sh installs it)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop() {
  [ -f "$state.dir" ] || return 0
  local dir
  dir=$(cat "$state.dir")
  if [ -d "$dir/data" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  rm -f "$state" "$state.dir"
}

# Starts the server in "$dir/data" on a free port with `$1` as further options; writes
# its URL to the state file.
serve() {
  # A port nobody listens on; if another process takes it first, try the next one.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    # Durability is not under test here: fsync off keeps the suite fast (benchmarks set
    # CRONKIT_PG_DURABLE=1 for the defaults: fsync and full-page writes on).
    options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $1"
    if [ "${CRONKIT_PG_DURABLE:-0}" != 1 ]; then options+=" -c fsync=off -c full_page_writes=off"; fi
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" \
      start >/dev/null; then
      echo "$options" >"$dir/options"
      echo "postgresql://cronkit@127.0.0.1:$port/postgres" >"$state"
      return 0
    fi
    tail -n 5 "$dir/server.log" >&2 || true
  done
  echo "postgres.sh: the server did not start" >&2
  exit 1
}

# A new empty directory for a server's files, owned by the server's user.
new_directory() {
  stop
  mkdir -p "$(dirname "$state")"
  dir=$(mktemp -d /tmp/cronkit-postgres.XXXXXX)
  echo "$dir" >"$state.dir"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
}

initialize() {
  as_owner "$bindir/initdb" -D "$dir/data" -A trust -U cronkit -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
}

case $command in
start)
  new_directory
  initialize
  serve ""
  ;;
primary)
  new_directory
  initialize
  # CRONKIT_PG_ASYNC=1: the standby may lag (asynchronous replication).
  if [ "${CRONKIT_PG_ASYNC:-0}" = 1 ]; then
    serve "-c wal_level=replica -c max_wal_senders=4"
  else
    serve "-c wal_level=replica -c max_wal_senders=4 -c synchronous_standby_names=standby"
  fi
  ;;
standby)
  primary=${3:?standby STATE PRIMARY_STATE}
  primary_port=$(sed -E 's|.*:([0-9]+)/.*|\1|' "$primary")
  new_directory
  as_owner "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U cronkit -D "$dir/data" \
    -R -X stream --no-sync >"$dir/basebackup.log" 2>&1 || {
    cat "$dir/basebackup.log" >&2
    exit 1
  }
  # The name the primary waits for (synchronous_standby_names).
  echo "primary_conninfo = 'host=127.0.0.1 port=$primary_port user=cronkit application_name=standby'" \
    >>"$dir/data/postgresql.auto.conf"
  serve ""
  ;;
kill)
  dir=$(cat "$state.dir")
  kill -KILL "$(head -n 1 "$dir/data/postmaster.pid")"
  ;;
promote)
  dir=$(cat "$state.dir")
  as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null
  ;;
stop)
  stop
  ;;
halt)
  dir=$(cat "$state.dir")
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
resume)
  dir=$(cat "$state.dir")
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" \
    start >/dev/null
  ;;
*)
  echo "usage: $0 start|stop|halt|resume|primary|kill|promote STATE, or standby STATE PRIMARY_STATE" >&2
  exit 2
  ;;
esac
