# Sourced by the scripts that install Debian packages for the tests (services.sh,
# prometheus-service.sh): they install what they need without leaving a system service behind.
# Debian's `prometheus` and `postgresql-15` enable (and would start) `prometheus.service` and
# `postgresql.service`: a permanent server on a developer's workstation. The tests start their
# own throwaway instances instead, so the packages' services are refused at install time and
# disabled (and stopped, where systemd runs) afterwards, also for a package installed earlier.

# apt_install_quietly PKG...: apt-get install with every service start refused (policy-rc.d
# exits 101, the Debian convention), with one `apt-get update` and retry when the lists are old.
apt_install_quietly() {
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by greenkube scripts/no-services.sh during apt-get install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 || rc=$?
  fi
  if [ "$ours" -eq 1 ]; then rm -f "$policy"; fi
  return "$rc"
}

# no_system_service UNIT...: the units disabled (and stopped where systemd runs); nothing when
# there is no systemctl or no such unit.
no_system_service() {
  command -v systemctl >/dev/null 2>&1 || return 0
  local unit
  for unit in "$@"; do
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    else
      # No running systemd (a container): disabling edits the unit links only.
      systemctl disable "$unit" >/dev/null 2>&1 || true
    fi
  done
}
