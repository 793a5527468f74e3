#!/usr/bin/env bash
# A real Boavizta API server for the integration tests: `boaviztapi` (pinned, from PyPI) served
# by uvicorn on 127.0.0.1.
#
#   eval "$(scripts/boavizta-service.sh start)"   # install if missing, start, print `export` lines
#   scripts/boavizta-service.sh status            # print the `export` lines of a running instance
#   scripts/boavizta-service.sh stop              # stop it (by pid) and remove its files
#
# `start` is idempotent: it creates the venv and pip-installs boaviztapi and uvicorn only when
# they are missing (the venv lives outside the checkout, in
# ${XDG_CACHE_HOME:-$HOME/.cache}/greenkube/venvs/boavizta, or $GREENKUBE_BOAVIZTA_VENV, so a
# fresh checkout or `cargo clean` does not pay the ~15 s, 380 MB install again), reuses an
# instance that is already running and answering, and otherwise starts one on a free port of
# 127.0.0.1 (the server binds port 0 itself, so no other process can take the port between
# choosing and binding), waits until it answers, and prints
# `export GREENKUBE_TEST_BOAVIZTA_URL=...` (and `GREENKUBE_BOAVIZTA_DIR`, where the instance keeps
# its pid, URL and log). Only `export` lines go to stdout; progress goes to stderr.
#
# An instance lives in $GREENKUBE_BOAVIZTA_DIR (default target/services/boavizta). When
# $GREENKUBE_BOAVIZTA_OWNER names a process (scripts/test.sh passes its own pid), the server
# exits by itself within a second of that process being gone, so a run killed with SIGKILL leaves
# no server behind; a later `start` removes the files of such instances.
#
# The tests assert Boavizta's figures exactly, so the version is pinned: change
# GREENKUBE_BOAVIZTA_PACKAGE only together with the expected values in
# greenkube-adapters/tests/it/boavizta.rs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/target/services"
dir="${GREENKUBE_BOAVIZTA_DIR:-$base/boavizta}"
venv="${GREENKUBE_BOAVIZTA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/greenkube/venvs/boavizta}"
version="2.5.0"
package="${GREENKUBE_BOAVIZTA_PACKAGE:-boaviztapi==$version}"
marker="greenkube-boavizta-server"

log() { printf 'boavizta-service: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

# True when the venv has the pinned boaviztapi and uvicorn.
installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$package" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
import boaviztapi, uvicorn  # noqa: F401
want = sys.argv[1].partition("==")[2]
sys.exit(0 if not want or version("boaviztapi") == want else 1)
PY
}

provision() {
  mkdir -p "$(dirname "$venv")"
  # Concurrent runs share the venv: one installs, the others wait.
  exec 9>"$venv.lock"
  flock 9
  if ! installed; then
    command -v python3 >/dev/null || die "python3 is needed to install boaviztapi"
    make_venv "$venv"
    log "installing $package and uvicorn into $venv (about 15 s the first time)"
    "$venv/bin/pip" install -q --disable-pip-version-check "$package" uvicorn >&2
    installed || die "$package installed but cannot be imported"
  fi
  flock -u 9
  exec 9>&-
}

# The start time of a live process (field 22 of /proc/PID/stat), to tell it from a later one
# with the same pid; nothing when the process is gone or a zombie.
started_at() {
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '$1 != "Z" {print $20}'
}

# True when instance $1 has a live server process.
alive() {
  local d=$1 pid
  [ -f "$d/pid" ] || return 1
  pid=$(cat "$d/pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$marker"
}

# True when the server at URL $1 answers like Boavizta.
answers() {
  "$venv/bin/python" - "$1" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/v1/cloud/instance/all_providers", timeout=2) as r:
    sys.exit(0 if "aws" in json.load(r) else 1)
PY
}

# Stops the server of instance $1 (by pid) and removes its files.
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

# Removes the other instances whose server is gone, or whose owner is gone.
sweep() {
  local d pid since
  for d in "$base"/boavizta-*/ "$base"/boavizta/; do
    d=${d%/}
    [ -d "$d" ] && [ -f "$d/pid" ] || continue
    [ "$d" = "$dir" ] && continue
    if alive "$d"; then
      [ -f "$d/owner" ] || continue
      read -r pid since <"$d/owner" || true
      if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(started_at "$pid")" = "${since:-}" ]; then
        continue
      fi
    fi
    log "removing $d, left behind by a run that is gone"
    stop_instance "$d"
  done
}

print_exports() {
  printf 'export GREENKUBE_BOAVIZTA_DIR=%q\n' "$dir"
  printf 'export GREENKUBE_TEST_BOAVIZTA_URL=%q\n' "$(cat "$dir/url")"
}

# Binds 127.0.0.1:0, writes the port, exits when the owner (pid, start time) is gone, and serves
# boaviztapi with uvicorn on the bound socket.
launcher='
import os, socket, sys, threading, time
port_file, owner, owner_start = sys.argv[1], sys.argv[2], sys.argv[3]

def start_time(pid):
    """The start time of a live process, None when it is gone (or a zombie)."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]

if owner:
    def watch():
        while True:
            time.sleep(1)
            if start_time(owner) != owner_start:
                os._exit(0)
    threading.Thread(target=watch, daemon=True).start()

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
import uvicorn
config = uvicorn.Config("boaviztapi.main:app", log_level="warning")
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % sock.getsockname()[1])
os.replace(port_file + ".tmp", port_file)
uvicorn.Server(config).run(sockets=[sock])
'

create() {
  local pid port= owner="" owner_start=""
  mkdir -p "$dir"
  if [ -n "${GREENKUBE_BOAVIZTA_OWNER:-}" ]; then
    owner=$GREENKUBE_BOAVIZTA_OWNER
    owner_start=$(started_at "$owner")
    [ -n "$owner_start" ] || die "owner process $owner does not exist"
    printf '%s %s\n' "$owner" "$owner_start" >"$dir/owner"
  fi
  "$venv/bin/python" -c "$launcher" "$dir/port" "$owner" "$owner_start" "$marker" \
    </dev/null >"$dir/log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"
  for _ in $(seq 200); do
    [ -s "$dir/port" ] && port=$(cat "$dir/port") && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    tail -n 20 "$dir/log" >&2 || true
    stop_instance "$dir"
    die "boaviztapi did not start; log above"
  fi
  # Importing boaviztapi (pandas, scipy) takes about a second.
  for _ in $(seq 300); do
    answers "http://127.0.0.1:$port" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! answers "http://127.0.0.1:$port"; then
    tail -n 20 "$dir/log" >&2 || true
    stop_instance "$dir"
    die "boaviztapi on 127.0.0.1:$port does not answer; log above"
  fi
  printf 'http://127.0.0.1:%s\n' "$port" >"$dir/url"
  log "boaviztapi $version on http://127.0.0.1:$port, pid $pid"
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
    alive "$dir" && [ -f "$dir/url" ] || die "no boaviztapi running for $dir"
    print_exports
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
