#!/usr/bin/env bash
# The whole test suite: formatting, lints, the core's purity, every Rust test, the packaged
# reference data, the README's main command, the web dashboard, and the Python package's tests.
# Idempotent; provisions what it needs (a Python venv with maturin and pytest, a throwaway
# PostgreSQL on 127.0.0.1 through scripts/services.sh and the osmem-server Elasticsearch-API
# emulator through scripts/es-service.sh, both stopped on exit) by itself.
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "API docs build without warnings (broken links, missing docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --exclude greenkube-py --no-deps --all-features --locked --quiet

step "greenkube-core stays I/O-free (no runtime, HTTP, database or binding crates)"
tree=$(cargo tree -p greenkube-core -e normal --prefix none --locked)
bad=$(printf '%s\n' "$tree" | awk '{print $1}' | grep -E '^(tokio|reqwest|hyper|sqlx|kube|k8s-openapi|elasticsearch|pyo3|axum)$' || true)
if [ -n "$bad" ]; then
  echo "greenkube-core depends on: $bad" >&2
  exit 1
fi
echo "ok: $(printf '%s\n' "$tree" | sort -u | wc -l) crates, none forbidden"

step "no OpenSSL in any build (TLS goes through rustls)"
tls=$(cargo tree --workspace --all-features --target all --prefix none -e normal,build --locked | awk '{print $1}' | sort -u)
bad=$(printf '%s\n' "$tls" | grep -E '^(openssl|openssl-sys|native-tls)$' || true)
if [ -n "$bad" ]; then
  echo "the dependency tree has: $bad" >&2
  exit 1
fi
echo "ok: no openssl, openssl-sys or native-tls"

step "supply chain: cargo deny (licences, bans, sources; advisories when reachable) and cargo machete"
# Installed into ~/.cargo/bin at pinned versions when missing (a one-time build of a few minutes).
tool() { # tool BINARY CRATE VERSION
  if ! "$1" --version 2>/dev/null | grep -qF "$3"; then
    cargo install --quiet --locked "$2" --version "$3"
  fi
}
tool cargo-deny cargo-deny 0.20.2
tool cargo-machete cargo-machete 0.9.2
cargo deny --offline check licenses bans sources
# The RustSec database lives on GitHub: checked when it can be fetched, said plainly when not.
if timeout 20 git ls-remote --quiet https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  cargo deny check advisories
else
  echo "note: advisories not checked: the RustSec database (github.com) is not reachable from here"
fi
cargo machete

step "throwaway PostgreSQL for the store tests (scripts/services.sh)"
# One instance per run, owned by this shell: stopped and removed on exit, and removed by a later
# start if this run is killed outright.
export GREENKUBE_SERVICES_DIR="$PWD/target/services/test-$$" GREENKUBE_SERVICES_OWNER=$$
trap 'scripts/services.sh stop || true; scripts/es-service.sh stop || true; scripts/boavizta-service.sh stop || true; scripts/kmock-service.sh stop || true; scripts/prometheus-service.sh stop || true' EXIT
trap 'exit 130' INT TERM
services_env=$(scripts/services.sh start)
eval "$services_env"
echo "ok: GREENKUBE_TEST_POSTGRES_URL set (${GREENKUBE_TEST_POSTGRES_URL##*@})"

step "Elasticsearch-API emulator for the store tests (scripts/es-service.sh: osmem-server)"
# No real Elasticsearch can be installed here, so the Elasticsearch store is tested against this
# emulator. One instance per run: it exits by itself if this shell dies, and the trap above stops
# it on exit.
export GREENKUBE_ES_DIR="$PWD/target/services/es-$$" GREENKUBE_ES_OWNER=$$
es_env=$(scripts/es-service.sh start)
eval "$es_env"
echo "ok: GREENKUBE_TEST_ES_URL=$GREENKUBE_TEST_ES_URL"

step "Boavizta API for the embodied source tests (scripts/boavizta-service.sh: boaviztapi 2.5.0)"
# A real boaviztapi under uvicorn; it exits by itself if this shell dies, and the trap stops it.
export GREENKUBE_BOAVIZTA_DIR="$PWD/target/services/boavizta-$$" GREENKUBE_BOAVIZTA_OWNER=$$
boavizta_env=$(scripts/boavizta-service.sh start)
eval "$boavizta_env"
echo "ok: GREENKUBE_TEST_BOAVIZTA_URL=$GREENKUBE_TEST_BOAVIZTA_URL"

step "Kubernetes API emulator for the inventory source tests (scripts/kmock-service.sh: kmock)"
# No real API server can be installed here; the Kubernetes source is tested against kmock (and
# kube's tower-test mock). One instance per run, exits by itself if this shell dies.
export GREENKUBE_KMOCK_DIR="$PWD/target/services/kmock-$$" GREENKUBE_KMOCK_OWNER=$$
kmock_env=$(scripts/kmock-service.sh start)
eval "$kmock_env"
echo "ok: GREENKUBE_TEST_KUBE_URL=$GREENKUBE_TEST_KUBE_URL"

step "Helm chart and Dockerfile: lint, render, Kubernetes schemas, values schema, applied to kmock (scripts/test-chart.sh)"
scripts/test-chart.sh

step "Prometheus with a synthetic history for the usage source tests (scripts/prometheus-service.sh)"
# Debian's prometheus (installed if missing), history backfilled with promtool. One instance per
# run: a watchdog stops it if this shell dies, and the trap above stops it on exit.
export GREENKUBE_PROMETHEUS_DIR="$PWD/target/services/prometheus-$$" GREENKUBE_PROMETHEUS_OWNER=$$
prometheus_env=$(scripts/prometheus-service.sh start)
eval "$prometheus_env"
echo "ok: GREENKUBE_TEST_PROMETHEUS_URL=$GREENKUBE_TEST_PROMETHEUS_URL"

step "the installs left no system service enabled or running (prometheus, postgresql)"
# The packages' own units would start permanent servers on a developer's machine; the scripts
# refuse their start at install time and disable them (scripts/no-services.sh).
for unit in prometheus.service postgresql.service; do
  if command -v systemctl >/dev/null && [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ]; then
    echo "$unit is enabled" >&2
    exit 1
  fi
  if [ -d /run/systemd/system ] && systemctl is-active --quiet "$unit"; then
    echo "$unit is running" >&2
    exit 1
  fi
done
# Debian's units run their servers as the `prometheus` user; the tests' own run as root.
if id prometheus >/dev/null 2>&1 && pgrep -u prometheus >/dev/null; then
  echo "a system Prometheus is running (user prometheus)" >&2
  exit 1
fi
echo "ok: no system prometheus or postgresql service enabled or running"

step "Rust tests (unit, integration, proptest, doc; the store tests use the PostgreSQL and the emulator above)"
cargo test --workspace --exclude greenkube-py --locked

step "feature combinations: what only compiles with a backend or the sources turned off"
# The workspace build turns every feature on, so the cfg(not(feature = ...)) code and tests are
# built and run here: the adapters with no store and with SQLite only, the CLI with SQLite only.
cargo clippy -p greenkube-adapters --no-default-features --all-targets --locked -- -D warnings
cargo clippy -p greenkube-adapters --no-default-features --features sqlite --all-targets --locked -- -D warnings
cargo clippy -p greenkube-cli --no-default-features --features sqlite --all-targets --locked -- -D warnings
cargo test -p greenkube-adapters --no-default-features --locked --lib --test it -- store
cargo test -p greenkube-adapters --no-default-features --features sqlite --locked --lib --test it -- store app
cargo test -p greenkube-cli --no-default-features --features sqlite --locked --test it -- store::

step "fuzzing: every parser for a few seconds (scripts/fuzz.sh: libFuzzer, stable toolchain)"
scripts/fuzz.sh "${GREENKUBE_FUZZ_SECONDS:-10}"

step "greenkube-core packages its reference data"
listing=$(cargo package -p greenkube-core --list --allow-dirty --locked)
for table in instance_types cpu_power providers region_pue region_zones zone_intensity embodied coefficients; do
  printf '%s\n' "$listing" | grep -qx "data/$table.csv" || { echo "data/$table.csv missing from the package" >&2; exit 1; }
done
echo "ok: all 8 tables in the package"

# Where cargo puts binaries (absolute, so they can run from another directory).
root_target="${CARGO_TARGET_DIR:-target}"
case "$root_target" in /*) ;; *) root_target="$PWD/$root_target" ;; esac

step "README main command: greenkube demo (release, into a temporary directory's greenkube.db; --no-serve here, the serving demo is tested in the Rust tests)"
demo_dir=$(mktemp -d)
cargo build --quiet --locked --release -p greenkube-cli
(cd "$demo_dir" && "$root_target/release/greenkube" demo --no-serve > demo.out)
grep -q "recommendations from 8640 windows" "$demo_dir/demo.out"
(cd "$demo_dir" && "$root_target/release/greenkube" report --since 30d --group-by cluster --format json) \
  | python3 -c 'import json,sys; rows=json.load(sys.stdin); assert rows and rows[0]["cluster"]=="demo", rows'
rm -rf "$demo_dir"
echo "ok: demo"

step "Grafana dashboard: every query against a real Prometheus scraping greenkube serve (scripts/test-grafana.sh)"
scripts/test-grafana.sh "$root_target/release/greenkube"

step "greenkube estimate on the bundled example"
cargo run --quiet --locked -p greenkube-cli -- estimate --snapshot examples/snapshots/cluster.json >/dev/null
cargo run --quiet --locked -p greenkube-cli -- estimate --snapshot examples/snapshots/cluster.json --format json \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["schema"]=="greenkube.footprint/v1" and len(d["pods"])==30, d.get("schema")'
echo "ok"

step "examples and the scale run (small, debug build)"
cargo run --quiet --locked -p greenkube-examples --example estimate_single_pod >/dev/null
cargo run --quiet --locked -p greenkube-bench --bin scale -- --nodes 30 --pods 1000 --windows 2 | tail -n 1 | grep -E '^scale: nodes=30 pods=1000 windows=2 pod_windows=2000 '
# The growth table's script at tiny sizes: every program it runs still runs and prints its figure.
bench=$(scripts/bench.sh --quick --debug)
printf '%s\n' "$bench" | tail -n 8
[ "$(printf '%s\n' "$bench" | grep -cE '^\| (estimate|collect|store write \+ roll-ups|recommend|demo) \| .* \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| [0-9.]+ \|$')" = 6 ]

step "web dashboard in headless Chromium (scripts/test-dashboard.sh: demo store, every page, screenshots)"
scripts/test-dashboard.sh

step "Python package"
scripts/test-python.sh

step "Python package: manylinux_2_28 wheel (auditwheel), sdist, installs in fresh venvs (scripts/test-python-package.sh)"
scripts/test-python-package.sh

step "all tests passed"
