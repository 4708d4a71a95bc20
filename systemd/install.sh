#!/usr/bin/env bash
# Install hingewatch on a Raspberry Pi (Raspberry Pi OS Bookworm, 64-bit) from this checkout.
# Run `sudo systemd/install.sh --help` for the options; `--dry-run` shows every step.
# Safe to run again: each step checks what is already there, and nothing a person may have
# edited (the config file, the broker ACL, passwords) is overwritten.
set -euo pipefail
umask 022

readonly PROG=install.sh
readonly SERVICE_USER=hingewatch
readonly DASHBOARD_USER=hingewatch-dashboard
readonly PREFIX=/opt/hingewatch
readonly VENV=$PREFIX/venv
readonly HINGEWATCH=$VENV/bin/hingewatch
readonly PIP_CONSTRAINTS=$PREFIX/pip-constraints.txt
readonly CONF_DIR=/etc/hingewatch
readonly CONFIG=$CONF_DIR/hingewatch.toml
readonly MQTT_SECRET=$CONF_DIR/mqtt.password
readonly DASHBOARD_SECRET=$CONF_DIR/dashboard-mqtt.password
readonly STATE_DIR=/var/lib/hingewatch
readonly DASHBOARD_STATE_DIR=/var/lib/hingewatch-dashboard
readonly MODELS_DIR=$STATE_DIR/models
readonly UNIT_DIR=/etc/systemd/system
readonly MOSQ_DIR=/etc/mosquitto
readonly MOSQ_CONF=$MOSQ_DIR/conf.d/hingewatch.conf
readonly MOSQ_ACL=$MOSQ_DIR/hingewatch.acl
readonly MOSQ_PASSWD=$MOSQ_DIR/hingewatch.passwd
# The checkout this script lives in: the project that gets installed, and the unit files.
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRC
readonly HERE=$SRC/systemd

usage() {
  cat <<EOF
Usage: sudo systemd/install.sh [OPTIONS]

Install the hingewatch edge agent on this Raspberry Pi (Raspberry Pi OS Bookworm, 64-bit):
apt packages (python3-picamera2), the system user '$SERVICE_USER' in group video, a
virtual environment at $VENV with the system site packages, this checkout
installed into it, the pose models, $CONFIG (only if absent), an MQTT password
for the device, and the systemd units, enabled and started.

Options:
  --device-id NAME   this camera's name in MQTT topics and its broker user name
                     (letters, digits, '_', '-'; default: the host name)
  --broker URL       the MQTT broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT]
                     (default: mqtt://localhost:1883)
  --with-mosquitto   also install Mosquitto here, with passwords and per-device ACLs,
                     and give this device (and the dashboard) a broker account
  --with-dashboard   also install and start the dashboard service (port 8080)
  --dry-run          print every step and command, change nothing (no root needed)
  -h, --help         show this help

Re-running is safe: it upgrades the installed code, keeps the config file, the broker
files and the passwords that are already there, and restarts what is running.
EOF
}

die() {  # one clear line, exit 2
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 2
}

# --- options ------------------------------------------------------------------------------
DRY_RUN=0
WITH_MOSQUITTO=0
WITH_DASHBOARD=0
DEVICE_ID=""
BROKER=mqtt://localhost:1883
while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --with-mosquitto) WITH_MOSQUITTO=1 ;;
    --with-dashboard) WITH_DASHBOARD=1 ;;
    --device-id) (($# >= 2)) || die "--device-id needs a NAME"; DEVICE_ID=$2; shift ;;
    --device-id=*) DEVICE_ID=${1#*=} ;;
    --broker) (($# >= 2)) || die "--broker needs a URL"; BROKER=$2; shift ;;
    --broker=*) BROKER=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

if [[ -z $DEVICE_ID ]]; then
  DEVICE_ID=$(hostname -s 2>/dev/null || echo hingewatch)
  DEVICE_ID=${DEVICE_ID//[^A-Za-z0-9_-]/-}
fi
[[ $DEVICE_ID =~ ^[A-Za-z0-9_-]{1,64}$ ]] ||
  die "--device-id: expected 1-64 letters, digits, '_' or '-', got '$DEVICE_ID'"
[[ $DEVICE_ID != dashboard && $DEVICE_ID != homeassistant ]] ||
  die "--device-id: '$DEVICE_ID' is the broker account of another client; choose another name"

if [[ $BROKER =~ ^(mqtts?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?/?$ ]]; then
  BROKER_TLS=false
  [[ ${BASH_REMATCH[1]} == mqtts ]] && BROKER_TLS=true
  BROKER_HOST=${BASH_REMATCH[2]}
  BROKER_HOST=${BROKER_HOST#[}
  BROKER_HOST=${BROKER_HOST%]}
  BROKER_PORT=${BASH_REMATCH[4]:-}
  [[ -n $BROKER_PORT ]] || { [[ $BROKER_TLS == true ]] && BROKER_PORT=8883 || BROKER_PORT=1883; }
  ((BROKER_PORT >= 1 && BROKER_PORT <= 65535)) || die "--broker: port must be 1-65535, got $BROKER_PORT"
else
  die "--broker: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got '$BROKER'"
fi

if ((!DRY_RUN)) && ((EUID != 0)); then
  die "must run as root to install (sudo), or pass --dry-run to see the steps"
fi

# --- how steps are shown and run ----------------------------------------------------------
STEP=0
step() {  # a numbered heading
  STEP=$((STEP + 1))
  printf '\n== %d. %s\n' "$STEP" "$*"
}

note() { printf '   %s\n' "$*"; }

quote() {  # the arguments as a shell would need them typed
  local out="" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
      out+=" $arg"
    else
      out+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  printf '%s' "${out# }"
}

run() {  # print a command, then run it unless this is a dry run
  printf '+ %s\n' "$(quote "$@")"
  ((DRY_RUN)) || "$@"
}

run_sh() {  # the same for a pipeline or redirection, given as one shell string
  printf '+ %s\n' "$1"
  ((DRY_RUN)) || bash -c "set -euo pipefail; $1"
}

# The helpers below always return 0 and say in WROTE whether they wrote (or, in a dry run,
# would write) anything: a function called as `f && x=1` would run with `set -e` off.
WROTE=0

# Put SRC at DEST with MODE/OWNER/GROUP. POLICY `replace`: our file, kept current;
# `keep`: a file a person may have edited, never overwritten once it is there.
put_file() {
  local src=$1 dest=$2 mode=$3 owner=$4 group=$5 policy=$6
  WROTE=0
  if [[ -e $dest ]]; then
    if cmp -s "$src" "$dest"; then
      note "$dest is up to date"
      return 0
    fi
    if [[ $policy == keep ]]; then
      note "$dest differs from $src: kept as it is (compare them by hand)"
      return 0
    fi
  fi
  run install -m "$mode" -o "$owner" -g "$group" "$src" "$dest"
  WROTE=1
}

# A random password in FILE (MODE, root:GROUP) unless FILE already holds one.
make_secret() {
  local file=$1 group=$2 mode=$3
  WROTE=0
  if [[ -s $file ]]; then
    note "$file exists: kept"
    run chown "root:$group" "$file"
    run chmod "$mode" "$file"
    return 0
  fi
  run_sh "(umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > $file.new)"
  run chown "root:$group" "$file.new"
  run chmod "$mode" "$file.new"
  run mv "$file.new" "$file"
  WROTE=1
}

# Set KEY = VALUE (a TOML literal) in [TABLE] of FILE: replaces the key's line (or, failing
# that, its commented-out example line) in that table, else adds the line after the
# table's last key, else adds the table at the end.
toml_set() {
  local file=$1 table=$2 key=$3 value=$4
  printf '+ %s\n' "$(quote toml_set "$file" "$table" "$key" "$value")"
  ((DRY_RUN)) && return 0
  # Passed through the environment: awk -v would interpret the backslashes in VALUE.
  TOML_TABLE="[$table]" TOML_KEY=$key TOML_VALUE=$value awk '
    function header(line,   t) {  # the table name of a header line, "" for other lines
      if (line !~ /^[ \t]*\[/) return ""
      t = line; sub(/^[ \t]*/, "", t); sub(/[ \t]*(#.*)?$/, "", t); return t
    }
    function keyed(line, commented,   p) {  # does the line set our key?
      p = line; sub(/^[ \t]*/, "", p)
      if (commented) { if (p !~ /^#/) return 0; sub(/^#[ \t]*/, "", p) }
      return index(p, key) == 1 && substr(p, length(key) + 1) ~ /^[ \t]*=/
    }
    BEGIN { table = ENVIRON["TOML_TABLE"]; key = ENVIRON["TOML_KEY"]; value = ENVIRON["TOML_VALUE"] }
    NR == FNR {  # first pass: where the table is, and where the key is set
      h = header($0)
      if (h != "") { inside = (h == table); if (inside) { seen = 1; last = FNR }; next }
      if (!inside) next
      if ($0 !~ /^[ \t]*(#.*)?$/) last = FNR  # the last key line of the table
      if (!set && keyed($0, 0)) set = FNR
      if (!example && keyed($0, 1)) example = FNR
      next
    }
    {  # second pass: write the file with the key set
      target = set ? set : example
      if (FNR == target) { print key " = " value; next }
      print
      if (!target && seen && FNR == last) print key " = " value
    }
    END { if (!seen) { print ""; print table; print key " = " value } }
  ' "$file" "$file" > "$file.tmp"
  mv "$file.tmp" "$file"
}

toml_string() {  # a TOML basic string
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

((DRY_RUN)) && printf '%s: dry run: nothing is changed; these are the steps.\n' "$PROG"
printf '%s: installing hingewatch from %s as device %s, broker %s\n' \
  "$PROG" "$SRC" "$DEVICE_ID" "$BROKER"

# --- 1. the system ------------------------------------------------------------------------
step "Check the system"
codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)
codename=${codename:-unknown}
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
note "OS: $codename, architecture: $arch"
[[ $codename == bookworm ]] || note "warning: made for Raspberry Pi OS Bookworm; this is $codename"
[[ $arch == arm64 || $arch == aarch64 ]] ||
  note "warning: the TFLite runtime has wheels for 64-bit Raspberry Pi OS (arm64); this is $arch"

# --- 2. apt packages ----------------------------------------------------------------------
step "Install the apt packages"
# picamera2 and libcamera come from the Pi's own archive (the venv sees them through
# --system-site-packages); --no-install-recommends leaves out the desktop preview (Qt, GL).
packages=(python3-picamera2 python3-venv)
((WITH_MOSQUITTO)) && packages+=(mosquitto)
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

# --- 3. the service user ------------------------------------------------------------------
step "Create the system user '$SERVICE_USER' in group video"
if id -u "$SERVICE_USER" >/dev/null 2>&1; then
  note "user $SERVICE_USER exists"
  if id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx video; then
    note "$SERVICE_USER is in group video"
  else
    run usermod --append --groups video "$SERVICE_USER"
  fi
else
  run useradd --system --user-group --groups video --home-dir "$STATE_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "hingewatch edge agent" "$SERVICE_USER"
fi
if ((WITH_DASHBOARD)); then
  # The dashboard's own user: no groups, nothing of the agent's is readable to it.
  if id -u "$DASHBOARD_USER" >/dev/null 2>&1; then
    note "user $DASHBOARD_USER exists"
  else
    run useradd --system --user-group --home-dir "$DASHBOARD_STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "hingewatch dashboard" "$DASHBOARD_USER"
  fi
fi

# --- 4. the virtual environment and the code ----------------------------------------------
step "Create the virtual environment $VENV and install hingewatch into it"
if [[ -x $VENV/bin/python ]]; then
  grep -qs '^include-system-site-packages *= *true' "$VENV/pyvenv.cfg" ||
    die "$VENV exists without --system-site-packages (picamera2 would be invisible): remove it and run again"
  note "$VENV exists"
else
  run install -d -m 0755 "$PREFIX"
  # Debian's own Python: the one whose dist-packages hold picamera2 and libcamera.
  run /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
# picamera2's apt extensions (simplejpeg, ...) are built against Bookworm's numpy 1.x; a
# numpy 2 in the venv would shadow it and break their import. The constraint keeps pip on
# numpy < 2 (and so on the OpenCV and runtime releases that work with it).
run_sh "printf '%s\n' 'numpy<2' > $PIP_CONSTRAINTS"
run "$VENV/bin/python" -m pip install --quiet --upgrade --constraint "$PIP_CONSTRAINTS" \
  "${SRC}[edge,dashboard]"
# The units' Documentation= points here.
run install -m 0644 "$SRC/README.md" "$PREFIX/README.md"

# --- 5. the models ------------------------------------------------------------------------
step "Fetch the pose models into $MODELS_DIR"
run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR" "$MODELS_DIR"
# The fetcher checks every file's sha256 and skips the ones already there. The unit gives
# the agent the same HINGEWATCH_MODELS_DIR.
run env HINGEWATCH_MODELS_DIR="$MODELS_DIR" "$HINGEWATCH" models fetch
run chown -R "$SERVICE_USER:$SERVICE_USER" "$STATE_DIR"

# --- 6. secrets ---------------------------------------------------------------------------
step "MQTT passwords in $CONF_DIR"
run install -d -m 0755 -o root -g root "$CONF_DIR"
# Readable by the agent's group only; the config file names it (password_file).
make_secret "$MQTT_SECRET" "$SERVICE_USER" 0640
new_device_secret=$WROTE
new_dashboard_secret=0
if ((WITH_DASHBOARD)); then
  # Root only: systemd hands it to the dashboard through LoadCredential=.
  make_secret "$DASHBOARD_SECRET" root 0600
  new_dashboard_secret=$WROTE
fi

# --- 7. the config file -------------------------------------------------------------------
step "Write $CONFIG (only if absent)"
if [[ -e $CONFIG ]]; then
  note "$CONFIG exists: kept as it is (check it with: $HINGEWATCH config check $CONFIG)"
else
  run_sh "$HINGEWATCH config example > $CONFIG.new"
  toml_set "$CONFIG.new" mqtt host "$(toml_string "$BROKER_HOST")"
  toml_set "$CONFIG.new" mqtt port "$BROKER_PORT"
  toml_set "$CONFIG.new" mqtt tls "$BROKER_TLS"
  toml_set "$CONFIG.new" device id "$(toml_string "$DEVICE_ID")"
  toml_set "$CONFIG.new" device state_dir "$(toml_string "$STATE_DIR")"
  toml_set "$CONFIG.new" mqtt username "$(toml_string "$DEVICE_ID")"
  toml_set "$CONFIG.new" mqtt password_file "$(toml_string "$MQTT_SECRET")"
  toml_set "$CONFIG.new" mqtt outbox_path "$(toml_string "$STATE_DIR/outbox.sqlite3")"
  if ((WITH_DASHBOARD)); then
    toml_set "$CONFIG.new" dashboard.mqtt host "$(toml_string "$BROKER_HOST")"
    toml_set "$CONFIG.new" dashboard.mqtt port "$BROKER_PORT"
    toml_set "$CONFIG.new" dashboard.mqtt tls "$BROKER_TLS"
    toml_set "$CONFIG.new" dashboard.mqtt username '"dashboard"'
    toml_set "$CONFIG.new" dashboard db_path "$(toml_string "$DASHBOARD_STATE_DIR/dashboard.sqlite3")"
  fi
  run "$HINGEWATCH" config check "$CONFIG.new"
  # World-readable: it holds no secret (those are in the password files), and the
  # dashboard's dynamic user reads it too.
  run chmod 0644 "$CONFIG.new"
  run mv "$CONFIG.new" "$CONFIG"
fi

# --- 8. Mosquitto -------------------------------------------------------------------------
if ((WITH_MOSQUITTO)); then
  step "Configure Mosquitto: passwords, per-device ACLs, the LAN listener"
  put_file "$HERE/mosquitto-hingewatch.conf" "$MOSQ_CONF" 0644 root root keep
  mosquitto_changed=$WROTE
  put_file "$HERE/mosquitto-hingewatch.acl" "$MOSQ_ACL" 0640 mosquitto mosquitto keep
  ((WROTE)) && mosquitto_changed=1
  if [[ ! -e $MOSQ_PASSWD ]]; then
    run install -m 0640 -o mosquitto -g mosquitto /dev/null "$MOSQ_PASSWD"
  fi
  # mosquitto_passwd reads the password twice from stdin (sed p doubles the line), so it
  # never appears on a command line. Done when the account is missing or the secret new.
  if ((new_device_secret)) || ! grep -qs "^$DEVICE_ID:" "$MOSQ_PASSWD"; then
    run_sh "sed p $MQTT_SECRET | mosquitto_passwd $MOSQ_PASSWD $DEVICE_ID >/dev/null"
    mosquitto_changed=1
  else
    note "broker account $DEVICE_ID exists"
  fi
  if ((WITH_DASHBOARD)); then
    if ((new_dashboard_secret)) || ! grep -qs '^dashboard:' "$MOSQ_PASSWD"; then
      run_sh "sed p $DASHBOARD_SECRET | mosquitto_passwd $MOSQ_PASSWD dashboard >/dev/null"
      mosquitto_changed=1
    else
      note "broker account dashboard exists"
    fi
  fi
  run systemctl enable --now mosquitto.service
  if ((mosquitto_changed)); then
    run systemctl restart mosquitto.service
  fi
  note "Home Assistant logs in as 'homeassistant': sudo mosquitto_passwd $MOSQ_PASSWD homeassistant"
else
  step "Broker account (the broker is $BROKER_HOST)"
  note "On the broker, give this device an account with the password in $MQTT_SECRET:"
  note "  sudo mosquitto_passwd /etc/mosquitto/hingewatch.passwd $DEVICE_ID"
  note "(or put the password the broker already has for $DEVICE_ID into $MQTT_SECRET)"
  if ((WITH_DASHBOARD)); then
    note "and the dashboard an account 'dashboard' with the password in $DASHBOARD_SECRET"
  fi
fi

# --- 9. systemd ---------------------------------------------------------------------------
step "Install, enable and start the systemd units"
units=(hingewatch-edge.service)
((WITH_DASHBOARD)) && units+=(hingewatch-dashboard.service)
for unit in "${units[@]}"; do
  put_file "$HERE/$unit" "$UNIT_DIR/$unit" 0644 root root replace
done
run systemctl daemon-reload
for unit in "${units[@]}"; do
  if ((!DRY_RUN)) && systemctl is-active --quiet "$unit"; then
    # Already running an older install: pick up the new code and unit.
    run systemctl enable "$unit"
    run systemctl restart "$unit"
  else
    run systemctl enable --now "$unit"
  fi
done

step "Done"
note "status:  systemctl status ${units[*]}"
note "log:     journalctl -u hingewatch-edge -f"
note "config:  $CONFIG (then: sudo systemctl restart hingewatch-edge)"
((WITH_DASHBOARD)) && note "dashboard: http://127.0.0.1:8080/ on this Pi (http_host in the config opens it to the LAN)"
((DRY_RUN)) && printf '%s: dry run: nothing was changed.\n' "$PROG"
exit 0
