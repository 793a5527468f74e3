#!/usr/bin/env bash
# How cost grows with size (issue 14): builds the scale programs and runs each at the sizes of
# the growth table in benches/README.md, then prints the table (Markdown) with, for every run,
# the program's own timed figure, the wall and CPU time and peak memory of the whole process,
# and the load average before it started. The machine's load changes the wall times a lot on
# two cores: compare CPU times, and run on a quiet machine.
#
#   estimate   benches `scale`: N pods (N/33 nodes) x 12 windows, `seconds` = time in estimate
#   collect    benches `collect_scale`: one window from a stub Prometheus into SQLite
#   store      greenkube-adapters example `store_write --maintain`: 1,000 pods for 1 day,
#              30 days (and 365 days with --long) into SQLite, rolled up; `seconds` = the write
#   recommend  benches `recommend_scale`: 1 M and 20 M rows (100 M with --long), streamed
#   demo       `greenkube demo --no-serve` (30 days of the demo cluster into a fresh SQLite file)
#
# Usage: scripts/bench.sh [--quick] [--long] [--debug] [--only estimate|collect|store|recommend|demo]
#   --quick  tiny sizes (a minute once built: checks that every run works, figures mean nothing)
#   --long   also the largest sizes (365 days of writes, 100 M recommend rows: hours)
#   --debug  debug builds (with --quick, to check the script without a release build)
# Logs of every run: target/bench-runs/ (or $CARGO_TARGET_DIR/bench-runs/).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 long=0 profile=release only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --long) long=1 ;;
    --debug) profile=debug ;;
    --only) shift; only="${1:-}" ;;
    --only=*) only="${1#--only=}" ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$only" in ""|estimate|collect|store|recommend|demo) ;; *)
  echo "bench: --only takes estimate, collect, store, recommend or demo, not '$only'" >&2; exit 2 ;;
esac
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }

target="${CARGO_TARGET_DIR:-target}"
release=()
[ "$profile" = release ] && release=(--release)
echo "bench: building ($profile) the scale programs, the store_write example and greenkube" >&2
cargo build --locked --quiet "${release[@]}" -p greenkube-bench --bins
cargo build --locked --quiet "${release[@]}" -p greenkube-adapters --example store_write
cargo build --locked --quiet "${release[@]}" -p greenkube-cli
bin="$target/$profile"
logs="$target/bench-runs"
mkdir -p "$logs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run: LABEL SIZE KEY PROGRAM ARGS... The program's standard output goes to a log; KEY is a
# sed expression that extracts its own timed seconds from that output ("" for none). Prints one
# table row.
run() {
  local label=$1 size=$2 key=$3
  shift 3
  local name log load
  name=$(printf '%s-%s' "$label" "$size" | tr -c 'A-Za-z0-9.-' '_')
  log="$logs/$name.log"
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "bench: $label $size: $*" >&2
  # Wall, user and system time and the peak RSS of the process tree, measured from outside.
  local measured
  if ! measured=$(python3 - "$log" "$@" <<'PY'
import resource, subprocess, sys, time
log, argv = sys.argv[1], sys.argv[2:]
started = time.monotonic()
with open(log, "wb") as out:
    done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
wall = time.monotonic() - started
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.2f} {r.ru_utime + r.ru_stime:.2f} {r.ru_maxrss / 1024:.0f} {done.returncode}")
PY
  ); then
    echo "bench: could not run $*" >&2
    exit 1
  fi
  local wall cpu rss code own=""
  read -r wall cpu rss code <<<"$measured"
  if [ "$code" != 0 ]; then
    echo "bench: $label $size failed (exit $code); its output:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  [ -n "$key" ] && own=$(sed -n "$key" "$log" | tail -n 1)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$size" "${own:--}" "$wall" "$cpu" "$rss" "$load"
}

seconds_key='s/.* seconds=\([0-9.]*\).*/\1/p'
# Runs LABEL KEY PROGRAM ARGS... once per entry of `plans` ("SIZE:MORE ARGS"), adding a row each.
run_plans() {
  local label=$1 key=$2 plan
  shift 2
  for plan in "${plans[@]}"; do
    # shellcheck disable=SC2086 # the plan's arguments are separate words
    rows+=("$(run "$label" "${plan%%:*}" "$key" "$@" ${plan#*:})")
  done
}
rows=()
if wanted estimate; then
  if [ "$quick" = 1 ]; then sizes=(1000 3000); else sizes=(1000 10000 100000 1000000); fi
  for pods in "${sizes[@]}"; do
    nodes=$(( pods / 33 > 0 ? pods / 33 : 1 ))
    rows+=("$(run estimate "$pods pods x 12 windows" "$seconds_key" \
      "$bin/scale" --nodes "$nodes" --pods "$pods" --windows 12)")
  done
fi
if wanted collect; then
  if [ "$quick" = 1 ]; then sizes=(1000); else sizes=(10000 100000 150000); fi
  for pods in "${sizes[@]}"; do
    nodes=$(( pods / 33 > 0 ? pods / 33 : 1 ))
    rows+=("$(run collect "$pods pods, 1 window" "$seconds_key" \
      "$bin/collect_scale" --nodes "$nodes" --pods "$pods")")
  done
fi
if wanted store; then
  if [ "$quick" = 1 ]; then
    plans=("100 pods x 1 day:100 288 96")
  else
    plans=("1000 pods x 1 day:1000 288 96" "1000 pods x 30 days:1000 8640 96")
    # A year is 105 M rows (about 40 GB raw): maintained daily during the write, as a running
    # collector is, so the store holds about 7 days of raw rows.
    [ "$long" = 1 ] && plans+=("1000 pods x 365 days:--maintain-every 1 1000 105120 96")
  fi
  run_plans "store write + roll-ups" 's/^wrote .* in \([0-9.]*\) s.*/\1/p' \
    "$bin/examples/store_write" --maintain
fi
if wanted recommend; then
  if [ "$quick" = 1 ]; then
    plans=("28,800 rows:--pods 100 --nodes 10 --windows 288")
  else
    plans=("1 M rows:--pods 1000 --nodes 30 --windows 1000" "20 M rows:--pods 10000 --nodes 300 --days 7")
    [ "$long" = 1 ] && plans+=("100 M rows:--pods 10000 --nodes 300 --windows 10080")
  fi
  run_plans recommend "$seconds_key" "$bin/recommend_scale"
fi
if wanted demo; then
  days=30
  [ "$quick" = 1 ] && days=1
  rows+=("$(run demo "$days days, 60 pods" 's/^demo: [0-9]* windows in \([0-9.]*\) s$/\1/p' \
    "$bin/greenkube" demo --no-serve --days "$days" --end 2026-12-05T00:00:00Z \
    --store "sqlite://$work/demo.db")")
fi

echo
echo "$(uname -n), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), $profile build"
echo
echo "| path | size | own seconds | wall s | CPU s (user + sys) | peak RSS MB | load before |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
