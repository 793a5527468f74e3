#!/usr/bin/env bash
# A real Prometheus for the integration tests of the Prometheus usage source: Debian's
# `prometheus` (2.42 on bookworm) serving a deterministic synthetic history, on 127.0.0.1.
#
#   eval "$(scripts/prometheus-service.sh start)"   # install if missing, start, print `export` lines
#   scripts/prometheus-service.sh status            # print the `export` lines of a running instance
#   scripts/prometheus-service.sh stop              # stop it (by pid) and remove its files
#
# `start` is idempotent: it installs `prometheus` (which brings `promtool`) with apt-get only when
# either binary is missing, reuses an instance that is already running, answering and serving the
# current history, and otherwise generates the history with scripts/gen-prometheus-history.py
# (fixed 2024 timestamps, see that script for what it holds), backfills it into a fresh TSDB with
# `promtool tsdb create-blocks-from openmetrics`, starts Prometheus on that TSDB on a free port of
# 127.0.0.1 (no scrape targets: the data never changes), waits until it is ready, and prints
# `export GREENKUBE_TEST_PROMETHEUS_URL=...` (and `GREENKUBE_PROMETHEUS_DIR`, where the instance
# keeps its pid, URL, TSDB and log). Only `export` lines go to stdout; progress goes to stderr.
#
# An instance lives in $GREENKUBE_PROMETHEUS_DIR (default target/services/prometheus). When
# $GREENKUBE_PROMETHEUS_OWNER names a process (scripts/test.sh passes its own pid), the instance
# belongs to it: a watchdog stops Prometheus as soon as that process is gone, so a run killed with
# SIGKILL leaves no server behind, and a later `start` removes the files of such instances.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/target/services"
dir="${GREENKUBE_PROMETHEUS_DIR:-$base/prometheus}"
generator="$root/scripts/gen-prometheus-history.py"

log() { printf 'prometheus-service: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/no-services.sh
. "$root/scripts/no-services.sh"

provision() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    # Installed before (perhaps by an older version of this script): no system Prometheus.
    if [ "$(id -u)" -eq 0 ]; then no_system_service prometheus.service; fi
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "prometheus/promtool are not installed; install the Debian package 'prometheus' (as root)"
  command -v apt-get >/dev/null || die "prometheus/promtool are not installed and apt-get is not available"
  mkdir -p "$base"
  # Concurrent runs: one installs, the others wait.
  exec 9>"$base/prometheus-install.lock"
  flock 9
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    log "installing prometheus with apt-get (its system service neither started nor enabled)"
    apt_install_quietly --no-install-recommends prometheus
  fi
  no_system_service prometheus.service
  flock -u 9
  exec 9>&-
  command -v prometheus >/dev/null && command -v promtool >/dev/null \
    || die "prometheus installed but prometheus/promtool are not on PATH"
}

# True when process $1 exists and is not a zombie.
pid_alive() {
  [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# The start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with
# the same pid.
started_at() {
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# True when the pid in file $1 is alive and its command line contains $2.
pid_file_runs() {
  local file=$1 what=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$what"
}

# True when instance $1 has a live Prometheus process (started on this instance's TSDB).
alive() {
  pid_file_runs "$1/pid" "--storage.tsdb.path=$1/tsdb"
}

# True when the Prometheus at URL $1 is ready.
answers() {
  python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/-/ready", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

# A fingerprint of the history generator: an instance serving an older history is replaced.
fingerprint() {
  sha256sum "$generator" | awk '{print $1}'
}

# Stops the Prometheus (and watchdog) of instance $1, by pid, and removes its files.
stop_instance() {
  local d=$1 pid
  [ -n "$d" ] && [ "$d" != "/" ] || die "refusing to remove '$d'"
  if pid_file_runs "$d/watchdog.pid" "prometheus-service-watchdog"; then
    kill -TERM "$(cat "$d/watchdog.pid")" 2>/dev/null || true
  fi
  if alive "$d"; then
    pid=$(cat "$d/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  rm -rf -- "$d"
}

# Removes the other instances under $base whose owning process is gone (their watchdog has
# normally stopped their server already) or whose server is gone.
sweep() {
  local d owner since
  [ -d "$base" ] || return 0
  for d in "$base"/*/; do
    d=${d%/}
    # Only this script's instances (a `prometheus.yml` beside a `pid`).
    [ -f "$d/prometheus.yml" ] && [ -f "$d/pid" ] || continue
    [ "$d" = "$dir" ] && continue
    if [ -f "$d/owner" ]; then
      read -r owner since <"$d/owner" || true
      if [[ "$owner" =~ ^[0-9]+$ ]] && pid_alive "$owner" && [ "$(started_at "$owner")" = "${since:-}" ]; then
        continue
      fi
    elif alive "$d"; then
      continue
    fi
    log "removing $d, left behind by a run that is gone"
    stop_instance "$d"
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

print_exports() {
  printf 'export GREENKUBE_PROMETHEUS_DIR=%q\n' "$dir"
  printf 'export GREENKUBE_TEST_PROMETHEUS_URL=%q\n' "$(cat "$dir/url")"
}

# Starts a watchdog that stops this instance's Prometheus when the owner process is gone.
watch_owner() {
  local owner=$1 since=$2 pid=$3
  nohup bash -c '
    # prometheus-service-watchdog
    owner=$1 since=$2 pid=$3 tsdb=$4
    same_owner() {
      [ -r "/proc/$owner/stat" ] && [ "$(sed "s/^.*) //" "/proc/$owner/stat" | awk "{print \$20}")" = "$since" ]
    }
    ours() { tr "\0" " " <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--storage.tsdb.path=$tsdb"; }
    while same_owner && ours; do sleep 1; done
    if ours; then kill -TERM "$pid" 2>/dev/null || true; fi
  ' prometheus-service-watchdog "$owner" "$since" "$pid" "$dir/tsdb" </dev/null >/dev/null 2>&1 &
  printf '%s\n' "$!" >"$dir/watchdog.pid"
}

create() {
  local pid port attempt url=
  mkdir -p "$dir"
  command -v python3 >/dev/null || die "python3 is needed to generate the history"
  log "generating the synthetic history ($generator)"
  python3 "$generator" >"$dir/history.om"
  log "backfilling it with promtool into $dir/tsdb"
  promtool tsdb create-blocks-from openmetrics "$dir/history.om" "$dir/tsdb" >"$dir/promtool.log" 2>&1 \
    || { tail -n 20 "$dir/promtool.log" >&2; die "promtool could not backfill the history"; }
  rm -f -- "$dir/history.om"
  printf 'global:\n  scrape_interval: 15s\n' >"$dir/prometheus.yml"
  fingerprint >"$dir/history.sha256"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    url="http://127.0.0.1:$port"
    log "starting Prometheus on 127.0.0.1:$port"
    # The history is from 2024: retention is measured from the newest block, but keep it anyway.
    prometheus \
      --config.file="$dir/prometheus.yml" \
      --storage.tsdb.path="$dir/tsdb" \
      --storage.tsdb.retention.time=100y \
      --web.listen-address="127.0.0.1:$port" \
      </dev/null >"$dir/log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$dir/pid"
    for _ in $(seq 300); do
      answers "$url" && break
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid" && answers "$url"; then
      printf '%s\n' "$url" >"$dir/url"
      break
    fi
    log "attempt $attempt failed (port taken?)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
    url=
  done
  if [ -z "$url" ]; then
    tail -n 20 "$dir/log" >&2 || true
    stop_instance "$dir"
    die "Prometheus did not start; log above"
  fi
  log "Prometheus $(prometheus --version 2>&1 | head -n 1 | awk '{print $3}') on $url, pid $pid"
}

# Gives instance $dir to $GREENKUBE_PROMETHEUS_OWNER (when set): records it and (re)starts the
# watchdog if the owner changed.
claim() {
  local owner=${GREENKUBE_PROMETHEUS_OWNER:-} since
  [ -n "$owner" ] || return 0
  [[ "$owner" =~ ^[0-9]+$ ]] && pid_alive "$owner" || die "GREENKUBE_PROMETHEUS_OWNER=$owner is not a live process"
  since=$(started_at "$owner")
  if [ "$(cat "$dir/owner" 2>/dev/null || true)" = "$owner $since" ] \
    && pid_file_runs "$dir/watchdog.pid" "prometheus-service-watchdog"; then
    return 0
  fi
  if pid_file_runs "$dir/watchdog.pid" "prometheus-service-watchdog"; then
    kill -TERM "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
  fi
  printf '%s %s\n' "$owner" "$since" >"$dir/owner"
  watch_owner "$owner" "$since" "$(cat "$dir/pid")"
}

start() {
  provision
  sweep
  if alive "$dir" && [ -f "$dir/url" ] && answers "$(cat "$dir/url")" \
    && [ "$(cat "$dir/history.sha256" 2>/dev/null || true)" = "$(fingerprint)" ]; then
    log "already running on $(cat "$dir/url") (pid $(cat "$dir/pid"))"
  else
    [ -e "$dir" ] && stop_instance "$dir"
    create
  fi
  claim
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
    alive "$dir" && [ -f "$dir/url" ] || die "no Prometheus running for $dir"
    print_exports
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
