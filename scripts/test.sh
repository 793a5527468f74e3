#!/usr/bin/env bash
# The whole test suite: formatting, lints, the core's purity, every Rust test, the packaged
# reference data, the README's main command, and the Python package's tests.
# Idempotent; provisions what it needs (a Python venv with maturin and pytest) by itself.
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "greenkube-core stays I/O-free (no runtime, HTTP, database or binding crates)"
tree=$(cargo tree -p greenkube-core -e normal --prefix none --locked)
bad=$(printf '%s\n' "$tree" | awk '{print $1}' | grep -E '^(tokio|reqwest|hyper|sqlx|kube|k8s-openapi|elasticsearch|pyo3|axum)$' || true)
if [ -n "$bad" ]; then
  echo "greenkube-core depends on: $bad" >&2
  exit 1
fi
echo "ok: $(printf '%s\n' "$tree" | sort -u | wc -l) crates, none forbidden"

step "Rust tests (unit, integration, proptest, doc)"
cargo test --workspace --exclude greenkube-py --locked

step "greenkube-core packages its reference data"
listing=$(cargo package -p greenkube-core --list --allow-dirty --locked)
for table in instance_types cpu_power providers region_pue region_zones zone_intensity embodied coefficients; do
  printf '%s\n' "$listing" | grep -qx "data/$table.csv" || { echo "data/$table.csv missing from the package" >&2; exit 1; }
done
echo "ok: all 8 tables in the package"

step "README main command: greenkube estimate on the bundled example"
cargo run --quiet --locked -p greenkube-cli -- estimate --snapshot examples/snapshots/cluster.json >/dev/null
cargo run --quiet --locked -p greenkube-cli -- estimate --snapshot examples/snapshots/cluster.json --format json \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["schema"]=="greenkube.footprint/v1" and len(d["pods"])==30, d.get("schema")'
echo "ok"

step "examples and the scale run (small, debug build)"
cargo run --quiet --locked -p greenkube-examples --example estimate_single_pod >/dev/null
cargo run --quiet --locked -p greenkube-bench --bin scale -- --nodes 30 --pods 1000 --windows 2 | tail -n 1 | grep -E '^scale: nodes=30 pods=1000 windows=2 pod_windows=2000 '

step "Python package"
scripts/test-python.sh

step "all tests passed"
