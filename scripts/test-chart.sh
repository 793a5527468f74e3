#!/usr/bin/env bash
# Tests the Helm chart (charts/greenkube) and the Dockerfile (scripts/test-chart.py says what is
# checked): `helm lint --strict`, rendering with several value sets, validation of every rendered
# object against the Kubernetes schemas, refusal of bad values by values.schema.json, and an
# apply of every object to the Kubernetes API emulator (kmock) with plain HTTP.
#
# No Helm binary is packaged for Debian, so Helm itself comes from PyPI: helm-python-sdk, which
# ships Helm's official Go SDK (v4: template engine, values schema validation, linter) compiled
# into a C library, called through ctypes. It and kubernetes-validate (the Kubernetes OpenAPI
# schemas, 1.25 to 1.35) are installed, at pinned versions, into the virtual environment
# $HOME/.cache/greenkube/chart-venv (about 350 MB; created once, reused after). Nothing is
# installed system-wide and no service is enabled.
#
# The emulator: the one scripts/test.sh started (GREENKUBE_TEST_KUBE_URL), else one started here
# with scripts/kmock-service.sh and stopped on exit.
# Usage: scripts/test-chart.sh      (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cache="$HOME/.cache/greenkube"
venv="$cache/chart-venv"
packages=("helm-python-sdk==0.2.2" "kubernetes-validate==1.35.0")

log() { printf 'test-chart: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

# True when the venv has exactly the pinned packages.
installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "${packages[@]}" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    assert m.version(name) == version, spec
import helm_python, kubernetes_validate, yaml, jsonschema  # noqa: F401
PY
}

mkdir -p "$cache"
# Concurrent runs share the venv: one installs, the others wait.
exec 9>"$cache/chart-venv.lock"
flock 9
if ! installed; then
  make_venv "$venv"
  log "installing ${packages[*]} into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${packages[@]}" >&2
  installed || die "${packages[*]} installed but not importable"
fi
flock -u 9
exec 9>&-

if [ -z "${GREENKUBE_TEST_KUBE_URL:-}" ]; then
  export GREENKUBE_KMOCK_DIR="$root/target/services/kmock-chart-$$" GREENKUBE_KMOCK_OWNER=$$
  trap 'scripts/kmock-service.sh stop || true' EXIT
  eval "$(scripts/kmock-service.sh start)"
fi

"$venv/bin/python" scripts/test-chart.py
