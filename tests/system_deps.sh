#!/usr/bin/env bash
# What `make test` needs from Debian besides Python: Mosquitto (the real broker the MQTT
# tests start on a free loopback port), Chromium (the dashboard's browser tests, through
# Playwright, never downloaded by it), systemd (systemd-analyze checks the unit files),
# ShellCheck (checks install.sh), fonts-dejavu-core (a font for Chromium's pages) and
# postgresql (the server the dashboard's tests also run on; Debian keeps its initdb in
# /usr/lib/postgresql/NN/bin, off PATH).
# Missing ones are installed from Debian's packages when this user may (root, or sudo
# without a password prompt); otherwise it stops at once with the one command to run.
#
# SYSTEM_DEPS_PATH (where programs are looked for), SYSTEM_DEPS_FONT (the font file) and
# SYSTEM_DEPS_PGLIB (Debian's PostgreSQL folder) exist for this script's own test.
set -euo pipefail

search=${SYSTEM_DEPS_PATH:-$PATH:/usr/local/sbin:/usr/sbin:/sbin}
font=${SYSTEM_DEPS_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
pglib=${SYSTEM_DEPS_PGLIB:-/usr/lib/postgresql}

missing=()
need_program() {  # PACKAGE PROGRAM
  PATH=$search command -v "$2" >/dev/null 2>&1 || missing+=("$1")
}
need_program mosquitto mosquitto
need_program chromium chromium
need_program systemd systemd-analyze
need_program shellcheck shellcheck
if ! PATH=$search command -v initdb >/dev/null 2>&1 \
    && ! compgen -G "$pglib/*/bin/initdb" >/dev/null; then
  missing+=(postgresql)
fi
[[ -f $font ]] || missing+=(fonts-dejavu-core)

((${#missing[@]} == 0)) && exit 0

install=(apt-get install -y -qq "${missing[@]}")
if [[ $(id -u) == 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo)
else
  echo "make test needs Debian packages that are missing (${missing[*]}); install them with:" >&2
  echo "  sudo ${install[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "make test needs ${missing[*]}, and this machine has no apt-get: install them with" \
    "its own package manager" >&2
  exit 1
fi
echo "installing what make test needs from Debian: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" "${install[@]}" >/dev/null
