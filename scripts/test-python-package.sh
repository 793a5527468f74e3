#!/usr/bin/env bash
# Checks that the `greenkube` Python package installs the ways greenkube-py/README.md says, each
# in a fresh virtual environment (never the repository's .venv):
#   1. the Linux wheel, built for a broad glibc (manylinux_2_28: glibc 2.28 or later) and abi3
#      (cp310-abi3: every CPython from 3.10 on), checked with auditwheel show;
#   2. the sdist, checked to hold everything its build needs;
#   3. `pip install SDIST`, `pip install ./greenkube-py` (both compile from source: maturin
#      fetched from PyPI as the PEP 517 backend) and `pip install "WHEEL[pandas]"`, each followed
#      by the smoke test greenkube-py/tests/smoke.py against the installed package;
#   4. the release workflow .github/workflows/python-wheels.yml parses and is wired as intended.
# Idempotent. Needs python3 (3.10 or later), pip, cargo and the network to PyPI. Respects
# CARGO_TARGET_DIR (default: the repository's target/), which every build here shares, the pip
# ones included, so a second run compiles little.
# Caches: the build tools (maturin, auditwheel, ziglang, PyYAML) live in a virtual environment in
# ${XDG_CACHE_HOME:-~/.cache}/greenkube/py-tools, created once; pip's own download cache as usual.
# Everything else (wheels, sdist, venvs, SQLite files) is in a temporary directory removed on exit.
# GREENKUBE_WHEEL_COMPATIBILITY (default manylinux_2_28) and GREENKUBE_WHEEL_ZIG=0 (link with the
# system's toolchain, as inside a manylinux_2_28 container) change how the wheel is built, not what
# is accepted: a wheel for anything newer than glibc 2.28 (or tagged plain `linux`) fails the run.
# Usage: scripts/test-python-package.sh     (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# pip builds happen in other directories: the target directory must be absolute to reach them.
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A venv with pip: its own, or (when python3 -m venv could not install pip, as on a Debian
# without python3-venv) the system pip pointed at the venv's interpreter.
new_venv() { # new_venv DIR
  if ! python3 -m venv "$1" 2>/dev/null; then
    rm -rf "$1"
    python3 -m venv --without-pip "$1"
  fi
  "$1/bin/python" -c 'import sys; assert sys.version_info >= (3, 10), "greenkube needs Python 3.10 or later"'
}
pip_in() { # pip_in VENV ARGS...
  local venv=$1
  shift
  if "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    "$venv/bin/python" -m pip --disable-pip-version-check "$@"
  else
    python3 -m pip --disable-pip-version-check --python "$venv/bin/python" "$@"
  fi
}

tools="${XDG_CACHE_HOME:-$HOME/.cache}/greenkube/py-tools"
# Tested with maturin 1.16, auditwheel 6.8 and zig 0.17 (the ziglang package; maturin supports
# a range of zig releases, so the bound is the tested one).
requirements=("maturin>=1.7,<2" "auditwheel>=6,<7" "ziglang>=0.17,<0.18" "pyyaml>=6")
if ! "$tools/bin/python" - "${requirements[@]}" >/dev/null 2>&1 <<'EOF'; then
import sys
from importlib.metadata import version
from packaging.requirements import Requirement
for spec in sys.argv[1:]:
    req = Requirement(spec)
    assert req.specifier.contains(version(req.name), prereleases=True), spec
EOF
  step "installing ${requirements[*]} into $tools"
  [ -x "$tools/bin/python" ] || new_venv "$tools"
  pip_in "$tools" install --quiet "packaging" "${requirements[@]}"
fi
maturin="$tools/bin/maturin"

# The smoke test, run by a venv's interpreter from the repository (so the example snapshot is at
# hand); it must have imported greenkube from that venv, not from greenkube-py/python.
smoke() { # smoke VENV
  local out
  out=$("$1/bin/python" greenkube-py/tests/smoke.py examples/snapshots/cluster.json)
  printf '%s\n' "$out"
  case "$out" in
    *" from $1/"*) ;;
    *) fail "the smoke test did not import greenkube from $1" ;;
  esac
}

# --- 1. the wheel -----------------------------------------------------------------------------
compatibility="${GREENKUBE_WHEEL_COMPATIBILITY:-manylinux_2_28}"
zig=(--zig)
[ "${GREENKUBE_WHEEL_ZIG:-1}" != 0 ] || zig=()
step "building the Linux wheel (release, abi3, $compatibility, ${zig[*]:-system linker})"
# A plain build links against this machine's glibc and picks up its newest symbol versions
# (Debian 12, glibc 2.36: pthread_* and dl* at GLIBC_2.34, stat64 at 2.33, gettid at 2.30,
# exp/log/pow at 2.29), which maturin's own audit then refuses for manylinux_2_28. The standard
# route without a container is zig as the C compiler and linker: it links against glibc 2.28's
# symbol versions whatever the host has. maturin finds zig through the ziglang package in the
# tools venv (its interpreter is first on PATH here). CI builds in the manylinux_2_28 container.
wheels="$work/wheels"
PATH="$tools/bin:$PATH" "$maturin" build --release --locked --quiet "${zig[@]}" \
  --compatibility "$compatibility" -m greenkube-py/Cargo.toml -o "$wheels"
shopt -s nullglob
found=("$wheels"/greenkube-*.whl)
shopt -u nullglob
[ ${#found[@]} -eq 1 ] || fail "expected one wheel in $wheels, found ${#found[@]}"
wheel=${found[0]}

step "checking the wheel's tags: cp310-abi3, manylinux_2_28 or older (auditwheel show)"
# The file name is what maturin claims: name-version-python-abi-platform(.platform...).
IFS=- read -r _ _ python_tag abi_tag platform_tags <<<"$(basename "$wheel" .whl)"
[ "$python_tag-$abi_tag" = cp310-abi3 ] ||
  fail "$(basename "$wheel") is $python_tag-$abi_tag, not cp310-abi3 (pyo3's abi3-py310 feature)"
# glibc_of TAG: the glibc version a platform tag requires, as "MAJOR MINOR"; empty when it is no
# manylinux tag (linux_x86_64, musllinux_..., ...).
glibc_of() {
  case "$1" in
    manylinux1_*) echo "2 5" ;;
    manylinux2010_*) echo "2 12" ;;
    manylinux2014_*) echo "2 17" ;;
    manylinux_[0-9]*_[0-9]*_*) sed -E 's/^manylinux_([0-9]+)_([0-9]+)_.*/\1 \2/' <<<"$1" ;;
  esac
}
at_most_2_28() { # at_most_2_28 TAG WHO: fails unless TAG (as WHO says) is for glibc <= 2.28
  local major minor
  read -r major minor <<<"$(glibc_of "$1")"
  [ -n "${major:-}" ] || fail "$2: $1 is not a manylinux platform tag (it would install only on this kind of machine)"
  if [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -gt 28 ]; }; then
    fail "$2: $1 needs glibc $major.$minor, newer than manylinux_2_28's 2.28"
  fi
}
for tag in ${platform_tags//./ }; do at_most_2_28 "$tag" "the wheel's file name"; done
# auditwheel reads the binary itself: the symbol versions it references decide the tag.
audit=$("$tools/bin/auditwheel" show "$wheel") || fail "auditwheel show failed on $(basename "$wheel")"
printf '%s\n' "$audit" | sed 's/^/    /'
audited=$(printf '%s\n' "$audit" | tr -s ' \n' ' ' | grep -oE 'platform tag:? *"[a-z0-9_]+"' | head -n 1 | grep -oE '"[^"]+"' | tr -d '"') ||
  fail "auditwheel show named no platform tag for $(basename "$wheel")"
at_most_2_28 "$audited" "auditwheel show (from the symbols the binary references)"
size=$(du -k "$wheel" | cut -f1)
echo "ok: $(basename "$wheel") (platform $platform_tags, auditwheel: $audited), $((size / 1024)).$(((size % 1024) * 10 / 1024)) MiB"

# --- 2. the sdist ------------------------------------------------------------------------------
step "building the sdist and checking its contents"
"$maturin" sdist -m greenkube-py/Cargo.toml -o "$work/sdist" >/dev/null
shopt -s nullglob
found=("$work/sdist"/greenkube-*.tar.gz)
shopt -u nullglob
[ ${#found[@]} -eq 1 ] || fail "expected one sdist in $work/sdist, found ${#found[@]}"
sdist=${found[0]}
listing=$(tar -tzf "$sdist")
prefix=$(basename "$sdist" .tar.gz)
# What a build from the sdist reads: the workspace manifest and lock file, the three crates (the
# core with its embedded reference data, the adapters with their migrations), the Python sources
# and type information, and the metadata pip and PyPI show.
needed=(PKG-INFO pyproject.toml README.md Cargo.toml Cargo.lock
  greenkube-py/Cargo.toml greenkube-py/src/lib.rs
  greenkube-core/Cargo.toml greenkube-core/src/lib.rs
  greenkube-adapters/Cargo.toml greenkube-adapters/src/lib.rs
  python/greenkube/__init__.py python/greenkube/_table.py python/greenkube/_native.pyi python/greenkube/py.typed)
for table in "$root"/greenkube-core/data/*.csv; do needed+=("greenkube-core/data/$(basename "$table")"); done
for migration in "$root"/greenkube-adapters/migrations/*/*.sql; do needed+=("${migration#"$root"/}"); done
missing=()
for file in "${needed[@]}"; do
  grep -qxF "$prefix/$file" <<<"$listing" || missing+=("$file")
done
[ ${#missing[@]} -eq 0 ] || fail "$(basename "$sdist") lacks: ${missing[*]}"
# The sdist's workspace keeps only the three crates, but its Cargo.lock is the whole repository's,
# so cargo drops the other members' entries before building: a build from it cannot be --locked.
# What matters is that it only drops: every crate keeps the version the repository locked.
mkdir "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
cp "$work/unpacked/$prefix/Cargo.lock" "$work/Cargo.lock.shipped"
cargo metadata --offline --format-version 1 --manifest-path "$work/unpacked/$prefix/Cargo.toml" >/dev/null ||
  fail "cargo cannot resolve the sdist's workspace from its Cargo.lock"
versions() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | sort -u; }
changed=$(comm -13 <(versions "$work/Cargo.lock.shipped") <(versions "$work/unpacked/$prefix/Cargo.lock"))
[ -z "$changed" ] || fail "building the sdist would use crates the repository did not lock: $changed"
echo "ok: $(basename "$sdist"): $(wc -l <<<"$listing") files, ${#needed[@]} checked, $(du -k "$sdist" | cut -f1) KiB; its lock file only loses the other members' crates"

# --- 3. installs, each in a fresh venv ---------------------------------------------------------
# pip passes the environment to the build backend: maturin builds in $CARGO_TARGET_DIR and leaves
# its wheel in $CARGO_TARGET_DIR/wheels (checked below). cargo keys the workspace's own crates by
# their path inside the workspace, not by where the workspace is, so the unpacked sdist reuses
# what the checkout's builds compiled: after the first run this is seconds, not minutes.
# --no-cache-dir (here and for ./greenkube-py): pip would otherwise keep the wheel it built in
# its cache for good, under the path it came from (a temporary one, or a CI run's fresh clone):
# 10 MB a run.
step "pip install $(basename "$sdist") in a fresh venv (compiles from source: needs Rust)"
new_venv "$work/venv-sdist"
marker="$work/before-sdist"
touch "$marker"
pip_in "$work/venv-sdist" install --quiet --no-cache-dir "$sdist"
[ -n "$(find "$target/wheels" -name 'greenkube-*.whl' -newer "$marker" -print -quit 2>/dev/null)" ] ||
  fail "the sdist build did not build in CARGO_TARGET_DIR ($target): no new wheel in $target/wheels"
smoke "$work/venv-sdist"

step "pip install ./greenkube-py in a fresh venv (the README's command; compiles from source)"
# The same build as the sdist's but from the checkout's own paths, so its crates are not the
# sdist's (cargo keys path crates by location): warm after the first run.
# Here the whole workspace is at hand, so the lock file is binding, as in every other build of
# this repository (maturin adds MATURIN_PEP517_ARGS to its build when pip runs it).
new_venv "$work/venv-dir"
MATURIN_PEP517_ARGS="--locked" pip_in "$work/venv-dir" install --quiet --no-cache-dir ./greenkube-py
smoke "$work/venv-dir"

step "pip install \"$(basename "$wheel")[pandas]\" in a fresh venv"
new_venv "$work/venv-wheel"
pip_in "$work/venv-wheel" install --quiet "${wheel}[pandas]"
"$work/venv-wheel/bin/python" -c 'import pandas, pyarrow' || fail "the [pandas] extra did not install pandas and pyarrow"
smoke "$work/venv-wheel"

# --- 4. the release workflow --------------------------------------------------------------------
step "the release workflow (.github/workflows/python-wheels.yml) parses and is wired as intended"
# GitHub's own linter (actionlint) is not installable from the registries reachable here, so the
# points that matter for a release are checked directly.
"$tools/bin/python" - .github/workflows/python-wheels.yml <<'EOF'
import sys
import yaml

path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    flow = yaml.safe_load(f)
jobs = flow["jobs"]
problems = []
for name, job in jobs.items():
    needs = job.get("needs", [])
    for need in [needs] if isinstance(needs, str) else needs:
        if need not in jobs:
            problems.append(f"{name} needs the unknown job {need}")
    for step in job.get("steps", []):
        if str(step.get("uses", "")).startswith("PyO3/maturin-action@"):
            args = step.get("with", {}).get("args", "")
            if "-m ${{ env.MANIFEST }}" not in args:
                problems.append(f"{name}: a maturin step without -m greenkube-py/Cargo.toml")
            if step["with"].get("command", "build") == "build" and "--locked" not in args:
                problems.append(f"{name}: a maturin build without --locked")
if flow.get("env", {}).get("MANIFEST") != "greenkube-py/Cargo.toml":
    problems.append("env.MANIFEST is not greenkube-py/Cargo.toml")
publish = jobs.get("publish", {})
if publish.get("if") != "startsWith(github.ref, 'refs/tags/py-v')":
    problems.append("publish does not run on py-v* tags only")
if publish.get("environment", {}).get("name") != "pypi":
    problems.append("publish is not in the pypi environment")
if publish.get("permissions", {}).get("id-token") != "write":
    problems.append("publish lacks id-token: write (trusted publishing)")
if not any(str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@") for s in publish.get("steps", [])):
    problems.append("publish does not use pypa/gh-action-pypi-publish")
if set(jobs) - {"publish"} - set(publish.get("needs", [])):
    problems.append("publish does not wait for every other job")
if problems:
    sys.exit(f"{path}:\n  " + "\n  ".join(problems))
print(f"ok: {len(jobs)} jobs; publish on py-v* tags through the pypi environment, after all others")
EOF

step "the Python package installs and runs from the wheel, the sdist and the checkout"
