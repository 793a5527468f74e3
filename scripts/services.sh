#!/usr/bin/env bash
# Throwaway servers for the integration tests: today a PostgreSQL 15 cluster on 127.0.0.1.
#
#   eval "$(scripts/services.sh start)"   # provision what is missing, start, print `export` lines
#   scripts/services.sh status            # print the `export` lines of a running instance
#   scripts/services.sh stop              # stop it and remove its data
#
# `start` is idempotent: it installs `postgresql-15` with apt-get only when `initdb`/`pg_ctl` are
# missing from /usr/lib/postgresql/15/bin (or $GREENKUBE_PG_BIN), reuses an instance that is
# already running, and otherwise clears what a killed run left behind and creates a fresh cluster
# (initdb, a free port on 127.0.0.1 only, no Unix socket, fsync off: the data is disposable), waits
# until it accepts connections and creates the role and database `greenkube` (password
# authentication, a random password per cluster). Only `export` lines go to stdout; progress goes
# to stderr. GREENKUBE_PG_DURABLE=1 keeps PostgreSQL's default durability (fsync on) for
# benchmarks.
#
# An instance lives in $GREENKUBE_SERVICES_DIR (default: target/services/default in the
# repository, which git ignores). When $GREENKUBE_SERVICES_OWNER names a process (scripts/test.sh
# passes its own pid), the instance belongs to it: any later `start` stops and removes instances
# whose owner is gone, so a run killed with SIGKILL cannot leave a server behind for long.
# Works as root (the server runs as the `postgres` user through runuser) or as a normal user.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/target/services"
dir="${GREENKUBE_SERVICES_DIR:-$base/default}"
pgbin="${GREENKUBE_PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a server command as the user that owns the cluster.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# shellcheck source=scripts/no-services.sh
. "$(dirname "$0")/no-services.sh"

provision() {
  if [ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] && [ -x "$pgbin/psql" ]; then
    # Installed before: no system PostgreSQL (the tests start their own).
    if [ "$(id -u)" -eq 0 ]; then no_system_service postgresql.service; fi
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL 15 is not installed in $pgbin; install postgresql-15 (as root) or set GREENKUBE_PG_BIN"
  command -v apt-get >/dev/null || die "PostgreSQL 15 is not installed in $pgbin and apt-get is not available"
  log "installing postgresql-15 with apt-get (its system service neither started nor enabled)"
  apt_install_quietly postgresql-15
  no_system_service postgresql.service
  [ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] || die "postgresql-15 installed but $pgbin/initdb is missing"
}

# Where an instance keeps its cluster (the data directory may be elsewhere, see `create`).
data_of() {
  local d=$1
  if [ -f "$d/pg/data.path" ]; then cat "$d/pg/data.path"; else printf '%s\n' "$d/pg/data"; fi
}

# True when process $1 exists and is not a zombie.
pid_alive() {
  [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# True when instance $1 has a server that answers on its port.
running() {
  local d=$1 data pid
  data=$(data_of "$d")
  [ -f "$data/postmaster.pid" ] && [ -f "$d/pg/port" ] || return 1
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$d/pg/port")" -t 5 >/dev/null 2>&1
}

# Stops the server of instance $1 (if any) and removes the instance.
stop_instance() {
  local d=$1 data pid
  [ -n "$d" ] && [ "$d" != "/" ] || die "refusing to remove '$d'"
  data=$(data_of "$d")
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    if ! as_pg "$pgbin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      && [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = postgres ]; then
      log "pg_ctl could not stop the server; killing postmaster $pid"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # Gone for good before its files go.
    if [[ "$pid" =~ ^[0-9]+$ ]]; then
      for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
    fi
  fi
  if [ "$data" != "$d/pg/data" ]; then rm -rf -- "$(dirname "$data")"; fi
  rm -rf -- "$d"
}

# The start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with
# the same pid.
started_at() {
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# Removes the instances under $base whose owning process is gone.
sweep() {
  local d owner pid since
  [ -d "$base" ] || return 0
  for d in "$base"/*/; do
    d=${d%/}
    # Only this script's instances (a `pg` directory and an `owner` file).
    [ -d "$d/pg" ] && [ -f "$d/owner" ] || continue
    [ "$d" = "$dir" ] && continue
    read -r pid since <"$d/owner" || true
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" && [ "$(started_at "$pid")" = "${since:-}" ]; then
      continue
    fi
    log "removing $d, left behind by process ${pid:-?} which is gone"
    stop_instance "$d"
  done
}

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}

print_exports() {
  local d=$1
  printf 'export GREENKUBE_SERVICES_DIR=%q\n' "$d"
  printf 'export GREENKUBE_TEST_POSTGRES_URL=%q\n' \
    "postgres://greenkube:$(cat "$d/pg/password")@127.0.0.1:$(cat "$d/pg/port")/greenkube"
}

create() {
  local d=$1 data password port attempt pwfile durability
  mkdir -p "$d/pg"
  data="$d/pg/data"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$d/pg"
    # The cluster must be reachable by the postgres user; a checkout under a private home is
    # not, so the data then goes to a private temporary directory instead.
    if ! runuser -u postgres -- test -w "$d/pg"; then
      data=$(mktemp -d "${TMPDIR:-/tmp}/greenkube-pg.XXXXXX")/data
      chown postgres:postgres "$(dirname "$data")"
      printf '%s\n' "$data" >"$d/pg/data.path"
    fi
  fi
  password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
  (umask 077 && printf '%s\n' "$password" >"$d/pg/password")
  pwfile=$(dirname "$data")/superuser.pw
  (umask 077 && printf '%s\n' "$password" >"$pwfile")
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$pwfile"; fi
  log "initdb $data"
  as_pg "$pgbin/initdb" -D "$data" -U postgres --pwfile="$pwfile" -A scram-sha-256 \
    -E UTF8 --no-locale >/dev/null
  rm -f -- "$pwfile"
  # The data is disposable: no flushing, unless GREENKUBE_PG_DURABLE=1 (for benchmarks).
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${GREENKUBE_PG_DURABLE:-0}" = 1 ]; then durability=""; fi
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    log "starting PostgreSQL on 127.0.0.1:$port"
    if as_pg "$pgbin/pg_ctl" -D "$data" -l "$(dirname "$data")/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' $durability -c max_connections=200" \
      start </dev/null >/dev/null 2>&1; then
      printf '%s\n' "$port" >"$d/pg/port"
      break
    fi
    log "attempt $attempt failed (port taken?)"
    port=
  done
  if [ -z "$port" ]; then
    tail -n 20 "$(dirname "$data")/server.log" >&2 || true
    die "PostgreSQL did not start; log above"
  fi
  for _ in $(seq 100); do
    PGPASSWORD=$password "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
    sleep 0.1
  done
  PGPASSWORD=$password "$pgbin/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE greenkube LOGIN CREATEDB PASSWORD '$password'" \
    -c "CREATE DATABASE greenkube OWNER greenkube" >/dev/null
}

start() {
  provision
  sweep
  if running "$dir" && [ -f "$dir/pg/password" ]; then
    log "PostgreSQL already running on 127.0.0.1:$(cat "$dir/pg/port") ($dir)"
  else
    [ -e "$dir" ] && stop_instance "$dir"
    create "$dir"
  fi
  if [ -n "${GREENKUBE_SERVICES_OWNER:-}" ]; then
    printf '%s %s\n' "$GREENKUBE_SERVICES_OWNER" "$(started_at "$GREENKUBE_SERVICES_OWNER")" >"$dir/owner"
  fi
  print_exports "$dir"
}

case "${1:-}" in
  start) start ;;
  stop)
    if [ -e "$dir" ]; then
      stop_instance "$dir"
      log "stopped and removed $dir"
    fi
    ;;
  status)
    running "$dir" || die "no PostgreSQL running for $dir"
    print_exports "$dir"
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
