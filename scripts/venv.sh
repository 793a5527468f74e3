# Sourced by the service scripts (needs their `log` and `die`): a Python virtual environment.

# Creates the virtual environment $1 unless it has a pip; installs python3-venv with apt-get
# (as root) when `python3 -m venv` fails for want of it.
make_venv() {
  local venv=$1
  [ -x "$venv/bin/pip" ] && return 0
  rm -rf -- "$venv"
  python3 -m venv "$venv" >&2 && return 0
  rm -rf -- "$venv"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "python3 -m venv failed; installing python3-venv with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2 || {
      DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    }
    python3 -m venv "$venv" >&2
  else
    die "python3 -m venv failed (install python3-venv)"
  fi
}
