#!/usr/bin/env bash
# Load test of `greenkube serve` (issue 9, item 8): 100 concurrent clients on loopback against
# the dashboard reads, one Prometheus scrape, a 30-day export, and the server's peak RSS.
#
#   benches/serve_load.sh [STORE_URL]
#
# Without STORE_URL, builds (once) target/bench-serve/gk.db: 30 days x 1,000 pods of five-minute
# windows written by the `store_write` example, rolled up and cut to the default retention (raw
# rows 7 days, hourly roll-ups 90 days) as a running collector leaves it. A PostgreSQL store for
# the same run:
#
#   cargo run --release -p greenkube-adapters --all-features --example store_write -- \
#       --store postgres://USER@HOST/DB --keep --maintain 1000 8640 96
#   benches/serve_load.sh 'postgres://USER@HOST/DB?options[search_path]=greenkube_bench_PID'
#
# Needs `wrk` (Debian: apt install wrk) and a release build; prints one line per endpoint
# (requests/s, p50, p99, errors) and the server's peak RSS. Environment: DURATION (default 15s),
# CONNECTIONS (100), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
duration=${DURATION:-15s}
connections=${CONNECTIONS:-100}
threads=${THREADS:-2}
end=2025-07-01T00:00:00Z

command -v wrk >/dev/null || { echo "serve_load: wrk is missing (apt install wrk)" >&2; exit 1; }
cargo build --release -p greenkube-cli --all-features >&2
cargo build --release -p greenkube-adapters --all-features --example store_write >&2
bin="$target/release/greenkube"

store=${1:-}
if [ -z "$store" ]; then
  mkdir -p target/bench-serve
  db="$PWD/target/bench-serve/gk.db"
  if [ ! -f "$db.done" ]; then
    rm -f "$db" "$db-wal" "$db-shm"
    "$target/release/examples/store_write" --store "sqlite://$db" --maintain 1000 8640 96 >&2
    touch "$db.done"
  fi
  store="sqlite://$db"
fi

port_file=$(mktemp)
"$bin" serve --store "$store" --listen 127.0.0.1:0 --now "$end" --no-kubernetes \
  --rate-limit 0 2>"$port_file" >/dev/null &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$port_file"' EXIT
base=""
for _ in $(seq 1 600); do
  base=$(grep -o 'on http://[0-9.:]*' "$port_file" | head -1 | sed 's/^on //') || true
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$port_file" >&2; echo "serve_load: the server did not start" >&2; exit 1; }
echo "store: $(sed -E 's#://([^:/@]*):[^@]*@#://\1:***@#' <<<"$store")"
echo "server: $base (pid $pid), $connections connections, $threads threads, $duration each"

rss() { awk '/^VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status"; }

# One cold request each first (what the first visitor waits), then the load.
printf '%-52s %10s %9s %9s %9s %8s\n' endpoint cold_ms req/s p50 p99 errors
for path in \
  "/api/v1/metrics/summary?last=30d" \
  "/api/v1/metrics/timeseries?last=30d&granularity=day" \
  "/api/v1/metrics/by-namespace?last=30d" \
  "/api/v1/metrics/dashboard-summary" \
  "/api/v1/metrics/dashboard-timeseries/30d" \
  "/api/v1/metrics/top-pods?last=30d"; do
  cold=$(curl -s -o /dev/null -w '%{time_total}' "$base$path" | awk '{printf "%.1f", $1 * 1000}')
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$base$path")
  rate=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {s = s $0 "; "} END {print (s == "" ? 0 : s)}' <<<"$out")
  printf '%-52s %10s %9s %9s %9s %8s\n' "$path" "$cold" "$rate" "$p50" "$p99" "$errors"
done

# The scrape: the first one computes, the next minute's reuse it.
for i in 1 2 3; do
  t=$(curl -s -o /dev/null -w '%{time_total}' "$base/prometheus/metrics" | awk '{printf "%.1f", $1 * 1000}')
  echo "scrape $i: $t ms"
done
size=$(curl -s "$base/prometheus/metrics" | wc -c)
echo "scrape size: $size bytes"

# A 30-day export of the stored pod rows (raw rows of the last 7 days; older days are roll-ups).
before=$(rss)
start=$(date +%s.%N)
bytes=$(curl -s "$base/api/v1/report/export?last=30d&format=csv" | wc -c)
took=$(echo "$(date +%s.%N) - $start" | bc)
echo "export 30d csv: $bytes bytes in ${took} s (peak RSS before $before, after $(rss))"
echo "server peak RSS: $(rss)"
