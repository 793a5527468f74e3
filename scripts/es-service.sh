#!/usr/bin/env bash
# An Elasticsearch-API server for the integration tests: the `osmem-server` emulator
# (OpenSearch 3.8 REST API, from PyPI) on 127.0.0.1. No real Elasticsearch or OpenSearch can be
# installed on the development machine, so the Elasticsearch store is tested against this
# emulator.
#
#   eval "$(scripts/es-service.sh start)"   # install if missing, start, print `export` lines
#   scripts/es-service.sh status            # print the `export` lines of a running instance
#   scripts/es-service.sh stop              # stop it (by pid) and remove its files
#
# `start` is idempotent: it creates the venv target/services/es-venv (git-ignored) and
# pip-installs the emulator only when they are missing, reuses an instance that is already
# running and answering, and otherwise starts one on a free port of 127.0.0.1 (the emulator
# picks it), waits until it answers, and prints `export GREENKUBE_TEST_ES_URL=...` (and
# `GREENKUBE_ES_DIR`, where the instance keeps its pid, URL and log). Only `export` lines go to
# stdout; progress goes to stderr.
#
# An instance lives in $GREENKUBE_ES_DIR (default target/services/es). When $GREENKUBE_ES_OWNER
# names a process (scripts/test.sh passes its own pid), the emulator exits by itself when that
# process is gone, so a run killed with SIGKILL leaves no server behind; a later `start` removes
# the files of such instances.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/target/services"
dir="${GREENKUBE_ES_DIR:-$base/es}"
venv="${GREENKUBE_ES_VENV:-$base/es-venv}"
package="osmem-server==0.1.6"

log() { printf 'es-service: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

# True when the venv can run the emulator.
installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import osmem_server' 2>/dev/null
}

provision() {
  mkdir -p "$base"
  # Concurrent runs share the venv: one installs, the others wait.
  exec 9>"$base/es-venv.lock"
  flock 9
  if ! installed; then
    command -v python3 >/dev/null || die "python3 is needed to install the emulator"
    make_venv "$venv"
    log "installing $package into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$package" >&2
    installed || die "$package installed but cannot be imported"
  fi
  flock -u 9
  exec 9>&-
}

# True when instance $1 has a live emulator process.
alive() {
  local d=$1 pid
  [ -f "$d/pid" ] || return 1
  pid=$(cat "$d/pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q osmem-server
}

# True when the server at URL $1 answers like Elasticsearch/OpenSearch.
answers() {
  "$venv/bin/python" - "$1" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/", timeout=2) as r:
    sys.exit(0 if "number" in json.load(r).get("version", {}) else 1)
PY
}

# Stops the emulator of instance $1 (by pid) and removes its files.
stop_instance() {
  local d=$1 pid
  [ -n "$d" ] && [ "$d" != "/" ] || die "refusing to remove '$d'"
  if alive "$d"; then
    pid=$(cat "$d/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf -- "$d"
}

# Removes the files of other instances whose emulator is gone.
sweep() {
  local d
  for d in "$base"/es-*/; do
    d=${d%/}
    [ -d "$d" ] && [ -f "$d/pid" ] || continue
    [ "$d" = "$dir" ] && continue
    alive "$d" && continue
    log "removing $d, left behind by a run that is gone"
    rm -rf -- "$d"
  done
}

print_exports() {
  printf 'export GREENKUBE_ES_DIR=%q\n' "$dir"
  printf 'export GREENKUBE_TEST_ES_URL=%q\n' "$(cat "$dir/url")"
}

create() {
  local bin pid url=
  local -a args=(-addr 127.0.0.1:0 -no-stdin-watch)
  mkdir -p "$dir"
  bin=$("$venv/bin/python" -c 'import osmem_server; print(osmem_server.resolve_binary())')
  if [ -n "${GREENKUBE_ES_OWNER:-}" ]; then
    args+=(-parent-pid "$GREENKUBE_ES_OWNER")
  fi
  "$bin" "${args[@]}" </dev/null >"$dir/stdout" 2>"$dir/log" &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"
  # The emulator prints {"url": "http://127.0.0.1:PORT", ...} once it listens.
  for _ in $(seq 200); do
    url=$("$venv/bin/python" -c 'import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        print(json.loads(line).get("url", "")); break' "$dir/stdout" 2>/dev/null || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$url" ]; then
    tail -n 20 "$dir/log" >&2 || true
    stop_instance "$dir"
    die "osmem-server did not start; log above"
  fi
  for _ in $(seq 200); do
    answers "$url" && break
    sleep 0.05
  done
  answers "$url" || { stop_instance "$dir"; die "osmem-server at $url does not answer"; }
  printf '%s\n' "$url" >"$dir/url"
  log "osmem-server (OpenSearch API emulator) on $url, pid $pid"
}

start() {
  provision
  sweep
  if alive "$dir" && [ -f "$dir/url" ] && answers "$(cat "$dir/url")"; then
    log "already running on $(cat "$dir/url") (pid $(cat "$dir/pid"))"
  else
    [ -e "$dir" ] && stop_instance "$dir"
    create
  fi
  print_exports
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
    alive "$dir" && [ -f "$dir/url" ] || die "no emulator running for $dir"
    print_exports
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
