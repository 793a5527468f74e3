#!/usr/bin/env bash
# The web dashboard in headless Chromium: builds greenkube (the dashboard is embedded by
# greenkube-cli/build.rs), loads the demo store into a temporary directory, starts
# `greenkube serve` on a free port and runs greenkube-cli/dashboard/tests/e2e.mjs against it.
# Screenshots of every page go to target/dashboard-screenshots/.
# Idempotent; installs what it needs: Debian's chromium if /usr/bin/chromium is missing (never a
# browser download), the dashboard's npm dependencies (npm ci, with playwright-core) if missing.
# Usage: scripts/test-dashboard.sh            (GREENKUBE_TEST_PROFILE=debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${GREENKUBE_TEST_PROFILE:-release}"
case "$profile" in
  release) build_flags=(--release) ;;
  debug) build_flags=() ;;
  *) echo "GREENKUBE_TEST_PROFILE must be release or debug, not $profile" >&2; exit 2 ;;
esac
root_target="${CARGO_TARGET_DIR:-target}"
case "$root_target" in /*) ;; *) root_target="$PWD/$root_target" ;; esac
dashboard="$PWD/greenkube-cli/dashboard"
screenshots="$PWD/target/dashboard-screenshots"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
command -v node >/dev/null || { echo "the dashboard test needs Node.js 20+ and npm" >&2; exit 1; }

# The test needs playwright-core from the dashboard's devDependencies; the build installs them
# too, but only when it runs.
if [ ! -f "$dashboard/node_modules/.greenkube-package-lock.json" ] \
  || ! cmp -s "$dashboard/package-lock.json" "$dashboard/node_modules/.greenkube-package-lock.json"; then
  (cd "$dashboard" && npm ci --include=dev --no-audit --no-fund --loglevel=error)
  cp "$dashboard/package-lock.json" "$dashboard/node_modules/.greenkube-package-lock.json"
fi

echo "building greenkube ($profile, with the dashboard)"
cargo build --quiet --locked "${build_flags[@]}" -p greenkube-cli
greenkube="$root_target/$profile/greenkube"

work=$(mktemp -d)
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now=2026-06-01T00:00:00Z
echo "loading the demo store (7 days ending $now)"
(cd "$work" && "$greenkube" demo --days 7 --end "$now" --store sqlite://demo.db --no-serve >demo.out 2>demo.err) \
  || { cat "$work/demo.err" >&2; exit 1; }

# start_server NAME ARGS...: `greenkube serve` on a free port over the demo store; prints its URL
# (read from the line it writes on stderr).
start_server() {
  local name=$1
  shift
  (cd "$work" && exec "$greenkube" serve --store sqlite://demo.db --listen 127.0.0.1:0 "$@" >"$name.out" 2>"$name.err") &
  server_pids+=($!)
  local pid=$! found=""
  for _ in $(seq 1 100); do
    found=$(grep -o 'on http://127\.0\.0\.1:[0-9]*' "$work/$name.err" 2>/dev/null | head -n 1 | cut -c4- || true)
    [ -n "$found" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.err" >&2; echo "greenkube serve ($name) stopped" >&2; return 1; }
    sleep 0.2
  done
  [ -n "$found" ] || { cat "$work/$name.err" >&2; echo "greenkube serve ($name) did not say where it listens" >&2; return 1; }
  printf '%s\n' "$found"
}

# The dashboard over the demo data; to see its empty and read-only states, the same store
# read-only as of a time before any data; and the same store behind an API key.
start_server main --now "$now" >"$work/main.url"
start_server empty --now 2020-01-01T00:00:00Z --read-only >"$work/empty.url"
start_server key --now "$now" --read-only --api-key e2e-secret >"$work/key.url"
url=$(cat "$work/main.url")
empty_url=$(cat "$work/empty.url")
key_url=$(cat "$work/key.url")
echo "greenkube serve at $url (read-only before any data at $empty_url, with an API key at $key_url)"

echo "type-checking the dashboard (tsc)"
(cd "$dashboard" && npm run --silent check)

rm -rf "$screenshots"
mkdir -p "$screenshots"
(cd "$dashboard" && GREENKUBE_URL="$url" GREENKUBE_EMPTY_URL="$empty_url" \
  GREENKUBE_KEY_URL="$key_url" GREENKUBE_KEY=e2e-secret SCREENSHOTS="$screenshots" node tests/e2e.mjs)
