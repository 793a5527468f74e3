#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/: libFuzzer through libfuzzer-sys, instrumented with
# sanitizer-coverage on the stable toolchain) and runs each for a fixed time from the corpus in
# fuzz/corpus/<target> (copied, so the checkout is not modified). Fails on any crash, panic,
# time-out or out-of-memory, printing the input and the command that reproduces it; prints one
# line per target: executions, seconds, corpus size, coverage, crashes.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#        (default GREENKUBE_FUZZ_SECONDS, else 10; every target when none is named)
# Respects CARGO_TARGET_DIR (the fuzz build goes to $CARGO_TARGET_DIR/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds="${1:-${GREENKUBE_FUZZ_SECONDS:-10}}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^greenkube-fuzz$')
fi

target_root="${CARGO_TARGET_DIR:-$root/target}"
case "$target_root" in /*) ;; *) target_root="$root/$target_root" ;; esac
export CARGO_TARGET_DIR="$target_root/fuzz"
host=$(rustc -vV | sed -n 's/^host: //p')
# Instrumentation for the target only (with --target, build scripts and proc macros are not
# instrumented); debug assertions and overflow checks come from fuzz/Cargo.toml's profile.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares"
# The web dashboard is not fuzzed: the command line's build script skips it (no npm here).
GREENKUBE_DASHBOARD=skip \
  cargo build --quiet --release --locked --target "$host" --manifest-path fuzz/Cargo.toml
bin="$CARGO_TARGET_DIR/$host/release"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
printf '%-18s %12s %8s %8s %8s %8s %8s\n' target executions exec/s corpus cov ft crashes
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "no fuzz target $t" >&2; exit 2; }
  work="$scratch/$t" artifacts="$root/fuzz/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  if [ -d "fuzz/corpus/$t" ]; then cp -r "fuzz/corpus/$t/." "$work/"; fi
  log="$scratch/$t.log"
  status=0
  "$bin/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$work" > "$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(printf '%s' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(printf '%s' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corpus=$(find "$work" -type f | wc -l)
  crashes=0
  if [ "$status" -ne 0 ]; then
    crashes=1
    failed+=("$t")
    input=$(grep -o "Test unit written to .*" "$log" | tail -n 1 | sed 's/Test unit written to //')
    echo "---- $t failed (exit $status): input ${input:-unknown}" >&2
    grep -E "panicked|ERROR|SUMMARY|Test unit" "$log" | head -n 20 >&2 || tail -n 40 "$log" >&2
    echo "reproduce: $bin/$t ${input:-<input>}" >&2
  fi
  printf '%-18s %12s %8s %8s %8s %8s %8s\n' "$t" "${runs:-?}" "${rate:-?}" "$corpus" "${cov:-?}" "${ft:-?}" "$crashes"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found failures in: ${failed[*]}" >&2
  exit 1
fi
echo "ok: ${#targets[@]} targets, ${seconds} s each, no crash"
