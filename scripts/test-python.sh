#!/usr/bin/env bash
# Builds the `greenkube` Python package (greenkube-py/) as a wheel, installs it into the
# repository's .venv, checks its type stubs against the compiled module, and runs its tests.
# Idempotent: creates .venv and installs maturin, pytest and mypy only when missing. Needs
# python3 (3.10 or later), pip and cargo. Respects CARGO_TARGET_DIR.
# Usage: scripts/test-python.sh     (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv"
python="$venv/bin/python"

step() { printf '==> %s\n' "$*"; }

# pip for the venv: its own, or (when python3 -m venv could not install pip, as on a Debian
# without python3-venv) the system pip pointed at the venv's interpreter.
venv_pip() {
  if "$python" -m pip --version >/dev/null 2>&1; then
    "$python" -m pip "$@"
  else
    python3 -m pip --python "$python" "$@"
  fi
}

if ! "$python" -c 'import sys; assert sys.version_info >= (3, 10)' >/dev/null 2>&1; then
  step "creating the Python virtual environment in .venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv"; then
    echo "python3 -m venv failed (no ensurepip?); creating .venv without pip" >&2
    rm -rf "$venv"
    python3 -m venv --without-pip "$venv"
  fi
  "$python" -c 'import sys; assert sys.version_info >= (3, 10), "greenkube needs Python 3.10 or later"'
fi

missing=()
"$python" - <<'EOF' 2>/dev/null || missing+=("maturin>=1.7,<2")
import importlib.metadata as m
major, minor = (int(p) for p in m.version("maturin").split(".")[:2])
assert major == 1 and minor >= 7
EOF
"$python" -c 'import pytest' 2>/dev/null || missing+=("pytest")
"$python" -c 'import mypy.stubtest' 2>/dev/null || missing+=("mypy")
# The DataFrame conversions are tested with the libraries of the extras.
"$python" -c 'import pyarrow, pandas' 2>/dev/null || missing+=("pyarrow>=14" "pandas>=2")
"$python" -c 'import polars' 2>/dev/null || missing+=("polars>=1")
# greenkube.plot (the plot extra), and the tour notebook run in a real kernel.
"$python" -c 'import matplotlib' 2>/dev/null || missing+=("matplotlib>=3.7")
"$python" -c 'import nbclient, nbformat, ipykernel' 2>/dev/null || missing+=("nbclient" "nbformat" "ipykernel")
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]} into .venv"
  venv_pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

step "building the greenkube wheel (release, abi3)"
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
"$venv/bin/maturin" build --release --locked --quiet --interpreter "$python" \
  -m greenkube-py/Cargo.toml -o "$wheels"
wheel=$(find "$wheels" -name 'greenkube-*.whl' -print -quit)
[ -n "$wheel" ] || { echo "maturin built no wheel" >&2; exit 1; }

step "installing $(basename "$wheel") into .venv"
venv_pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

step "checking the type stubs against the compiled module (mypy stubtest)"
(cd "$wheels" && "$python" -m mypy.stubtest greenkube)

# collect_window is tested against the test Prometheus (scripts/prometheus-service.sh);
# scripts/test.sh has started one already, otherwise this script starts its own and stops it.
if [ -z "${GREENKUBE_TEST_PROMETHEUS_URL:-}" ]; then
  step "starting a test Prometheus (scripts/prometheus-service.sh)"
  export GREENKUBE_PROMETHEUS_DIR="$root/target/services/prometheus-py-$$" GREENKUBE_PROMETHEUS_OWNER=$$
  trap 'rm -rf "$wheels"; scripts/prometheus-service.sh stop || true' EXIT
  eval "$(scripts/prometheus-service.sh start)"
fi

step "running the Python tests"
"$python" -m pytest -q -p no:cacheprovider greenkube-py/tests
