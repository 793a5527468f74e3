#!/usr/bin/env bash
# Stored pod rows to DataFrames: how long 1,000,000 rows take to reach pandas and polars through
# the Python package, and the peak memory next to the frame's size (benches/python/frames.py).
#
#   benches/frames.sh [PODS] [WINDOWS]      (default 1000 pods x 1000 windows = 1,000,000 rows)
#
# Builds the store once with the `store_write` example (release; kept in
# ${GREENKUBE_BENCH_DIR:-~/.cache/greenkube/bench}, reused by later runs), builds the package in
# release mode into the repository's .venv (scripts/test-python.sh makes it), then measures
# each library three times, each in a fresh process. Figures: benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-1000}
windows=${2:-1000}
dir=${GREENKUBE_BENCH_DIR:-$HOME/.cache/greenkube/bench}
db="$dir/frames-${pods}x${windows}.db"
python=.venv/bin/python
[ -x "$python" ] || { echo "no .venv: run scripts/test-python.sh once first" >&2; exit 1; }

if [ ! -f "$db" ]; then
  mkdir -p "$dir"
  echo "==> writing ${pods} pods x ${windows} windows into $db (store_write, release)"
  cargo run --quiet --release --locked -p greenkube-adapters --example store_write -- \
    --store "sqlite://$db" "$pods" "$windows" 10
fi

echo "==> building the package (release) into .venv"
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
.venv/bin/maturin build --quiet --release --locked --interpreter "$python" \
  -m greenkube-py/Cargo.toml -o "$wheels"
"$python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/*.whl

echo "==> stored pod rows to DataFrames (load: $(cut -d' ' -f1-3 /proc/loadavg))"
"$python" benches/python/frames.py --store "sqlite://$db"
