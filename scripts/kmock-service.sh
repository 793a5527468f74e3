#!/usr/bin/env bash
# A Kubernetes API server for the integration tests: the `kmock` emulator (an in-memory
# Kubernetes API over HTTP, from PyPI) on 127.0.0.1. No real kube-apiserver, k3s or kind can be
# installed on the development machine, so the Kubernetes source is tested against this emulator
# (and, in-process, against kube's tower-test mock).
#
#   eval "$(scripts/kmock-service.sh start)"   # install if missing, start, print `export` lines
#   scripts/kmock-service.sh status            # print the `export` lines of a running instance
#   scripts/kmock-service.sh stop              # stop it (by pid) and remove its files
#
# `start` is idempotent: it creates the venv target/services/kmock-venv (git-ignored) and
# pip-installs the emulator only when they are missing, reuses an instance that is already
# running and answering, and otherwise starts one on a free port of 127.0.0.1 (the server picks
# it), waits until it answers, writes a kubeconfig for it and prints
# `export GREENKUBE_TEST_KUBE_URL=...`, `export GREENKUBE_TEST_KUBECONFIG=...` (and
# `GREENKUBE_KMOCK_DIR`, where the instance keeps its pid, URL, kubeconfig and log). Only `export`
# lines go to stdout; progress goes to stderr. The emulator starts empty: tests seed the objects
# they need (POST with `metadata.resourceVersion` set).
#
# An instance lives in $GREENKUBE_KMOCK_DIR (default target/services/kmock). When
# $GREENKUBE_KMOCK_OWNER names a process (scripts/test.sh passes its own pid), the emulator exits
# by itself once that process is gone, so a run killed with SIGKILL leaves no server behind; a
# later `start` removes the files of such instances.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/target/services"
dir="${GREENKUBE_KMOCK_DIR:-$base/kmock}"
venv="${GREENKUBE_KMOCK_VENV:-$base/kmock-venv}"
package="kmock==0.8"

log() { printf 'kmock-service: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

# True when the venv can run the emulator.
installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import kmock' 2>/dev/null
}

provision() {
  mkdir -p "$base"
  # Concurrent runs share the venv: one installs, the others wait.
  exec 9>"$base/kmock-venv.lock"
  flock 9
  if ! installed; then
    command -v python3 >/dev/null || die "python3 (3.11 or later) is needed to install the emulator"
    python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
      || die "kmock needs Python 3.11 or later; python3 is $(python3 -V 2>&1)"
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
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q kmock_server.py
}

# True when the server at URL $1 answers like a Kubernetes API server.
answers() {
  "$venv/bin/python" - "$1" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/version", timeout=2) as r:
    sys.exit(0 if "gitVersion" in json.load(r) else 1)
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
  for d in "$base"/kmock-*/; do
    d=${d%/}
    [ -d "$d" ] && [ -f "$d/pid" ] || continue
    [ "$d" = "$dir" ] && continue
    [ "$d" = "$venv" ] && continue
    alive "$d" && continue
    log "removing $d, left behind by a run that is gone"
    rm -rf -- "$d"
  done
}

print_exports() {
  printf 'export GREENKUBE_KMOCK_DIR=%q\n' "$dir"
  printf 'export GREENKUBE_TEST_KUBE_URL=%q\n' "$(cat "$dir/url")"
  printf 'export GREENKUBE_TEST_KUBECONFIG=%q\n' "$dir/kubeconfig"
}

# The emulator: kmock's KubernetesEmulator with the bundled resource list (so that listing a
# kind with no objects answers an empty list, not 404), on a port the OS picks. It prints its URL
# as one JSON line, and exits when the owner process (argument 1, optional) is gone.
write_server() {
  cat >"$1" <<'PY'
import asyncio, json, os, sys

import kmock


def started_at(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


async def watch_owner(pid, since, stop):
    while not stop.is_set():
        if started_at(pid) != since:
            stop.set()
            return
        await asyncio.sleep(0.5)


async def main():
    owner = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else None
    since = started_at(owner) if owner else None
    if owner and since is None:
        sys.exit(f"owner process {owner} is not running")
    emulator = kmock.KubernetesEmulator()
    emulator.resources.load_bundled()
    stop = asyncio.Event()
    async with emulator, kmock.Server(emulator, host="127.0.0.1") as server:
        print(json.dumps({"url": str(server.url).rstrip("/"), "pid": os.getpid()}), flush=True)
        watcher = asyncio.create_task(watch_owner(owner, since, stop)) if owner else None
        await stop.wait()
        if watcher:
            watcher.cancel()


asyncio.run(main())
PY
}

write_kubeconfig() {
  local url=$1 file=$2
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kmock
  cluster:
    server: $url
users:
- name: kmock
  user:
    token: kmock-test-token
contexts:
- name: kmock
  context:
    cluster: kmock
    user: kmock
    namespace: default
current-context: kmock
EOF
}

create() {
  local pid url=
  mkdir -p "$dir"
  write_server "$dir/kmock_server.py"
  "$venv/bin/python" "$dir/kmock_server.py" "${GREENKUBE_KMOCK_OWNER:-}" \
    </dev/null >"$dir/stdout" 2>"$dir/log" &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"
  for _ in $(seq 300); do
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
    die "kmock did not start; log above"
  fi
  for _ in $(seq 200); do
    answers "$url" && break
    sleep 0.05
  done
  answers "$url" || { stop_instance "$dir"; die "kmock at $url does not answer"; }
  printf '%s\n' "$url" >"$dir/url"
  write_kubeconfig "$url" "$dir/kubeconfig"
  log "kmock (Kubernetes API emulator) on $url, pid $pid"
}

start() {
  provision
  sweep
  if alive "$dir" && [ -f "$dir/url" ] && [ -f "$dir/kubeconfig" ] && answers "$(cat "$dir/url")"; then
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
