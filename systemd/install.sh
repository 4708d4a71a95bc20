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
readonly MOSQ_BRIDGE=$MOSQ_DIR/conf.d/hingewatch-bridge.conf
# Debian's folder for CA files; the broker reads it as user mosquitto when it connects.
readonly MOSQ_BRIDGE_CA=$MOSQ_DIR/ca_certificates/hingewatch-centre.crt
readonly BRIDGE_CREDENTIALS_DEFAULT=$CONF_DIR/bridge.credentials
# The checkout this script lives in: the project that gets installed, and the unit files.
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRC
readonly HERE=$SRC/systemd
# die, check_name, parse_mqtt_url: the checks bridge.sh makes too.
# shellcheck source=common.sh
source "$HERE/common.sh"

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
  --bridge URL       with --with-mosquitto: bridge this home's broker to a central one,
                     mqtts://HOST[:PORT]: every device's event, status and state go out
                     (QoS 1, TLS), queued here while the centre is away; the home's
                     account there is in a root-only file (see --bridge-credentials)
  --bridge-credentials FILE
                     'username = NAME' and 'password = SECRET' lines, mode 0600
                     (default: $BRIDGE_CREDENTIALS_DEFAULT)
  --bridge-ca FILE   the CA that signed the centre's certificate (default: the system's)
  --bridge-device ID another camera that uses this broker, bridged too (repeatable)
  --centre-acl HOME_USER DEVICE... [--against ACL_FILE]
                     on the centre: print the ACL lines that let that home publish
                     only its own devices' topics (changes nothing; must come last)
  --dry-run          print every step and command, change nothing (no root needed)
  -h, --help         show this help

Re-running is safe: it upgrades the installed code, keeps the config file, the broker
files and the passwords that are already there, and restarts what is running.
EOF
}

# --- options ------------------------------------------------------------------------------
DRY_RUN=0
WITH_MOSQUITTO=0
WITH_DASHBOARD=0
DEVICE_ID=""
BROKER=mqtt://localhost:1883
BRIDGE=""
BRIDGE_CA=""
BRIDGE_CREDENTIALS=$BRIDGE_CREDENTIALS_DEFAULT
BRIDGE_DEVICES=()
while (($#)); do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --with-mosquitto) WITH_MOSQUITTO=1 ;;
    --with-dashboard) WITH_DASHBOARD=1 ;;
    --device-id) (($# >= 2)) || die "--device-id needs a NAME"; DEVICE_ID=$2; shift ;;
    --device-id=*) DEVICE_ID=${1#*=} ;;
    --broker) (($# >= 2)) || die "--broker needs a URL"; BROKER=$2; shift ;;
    --broker=*) BROKER=${1#*=} ;;
    --bridge) (($# >= 2)) || die "--bridge needs a URL"; BRIDGE=$2; shift ;;
    --bridge-ca) (($# >= 2)) || die "--bridge-ca needs a FILE"; BRIDGE_CA=$2; shift ;;
    --bridge-credentials) (($# >= 2)) || die "--bridge-credentials needs a FILE"
      BRIDGE_CREDENTIALS=$2; shift ;;
    --bridge-device) (($# >= 2)) || die "--bridge-device needs an ID"
      BRIDGE_DEVICES+=("$2"); shift ;;
    # Everything after it is the ACL's; it only prints.
    --centre-acl) shift; exec bash "$HERE/bridge.sh" centre-acl "$@" ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

if [[ -z $DEVICE_ID ]]; then
  DEVICE_ID=$(hostname -s 2>/dev/null || echo hingewatch)
  DEVICE_ID=${DEVICE_ID//[^A-Za-z0-9_-]/-}
fi
check_name --device-id "device id" "$DEVICE_ID"
parse_mqtt_url --broker "$BROKER"
BROKER_TLS=$URL_TLS
BROKER_HOST=$URL_HOST
BROKER_PORT=$URL_PORT

if [[ -n $BRIDGE ]]; then
  ((WITH_MOSQUITTO)) || die "--bridge: the bridge runs in this Pi's Mosquitto: add --with-mosquitto"
  # Checked now, before any step: the URL, the devices, the CA and the credentials file.
  # The second text (the password as ********) is what the steps show.
  bridge_args=(conf "$BRIDGE" --bridge-credentials "$BRIDGE_CREDENTIALS")
  for device in "$DEVICE_ID" "${BRIDGE_DEVICES[@]}"; do bridge_args+=(--bridge-device "$device"); done
  [[ -z $BRIDGE_CA ]] || bridge_args+=(--bridge-ca "$BRIDGE_CA" --ca-as "$MOSQ_BRIDGE_CA")
  BRIDGE_CONF=$(bash "$HERE/bridge.sh" "${bridge_args[@]}") || exit 2
  BRIDGE_SHOWN=$(bash "$HERE/bridge.sh" "${bridge_args[@]}" --hide-password) || exit 2
elif [[ -n $BRIDGE_CA || ${#BRIDGE_DEVICES[@]} -gt 0 ||
  $BRIDGE_CREDENTIALS != "$BRIDGE_CREDENTIALS_DEFAULT" ]]; then
  die "--bridge-ca, --bridge-credentials and --bridge-device go with --bridge URL"
fi

if ((!DRY_RUN)) && ((EUID != 0)); then
  die "must run as root to install (sudo), or pass --dry-run to see the steps"
fi

# step, note, run, run_sh, put_file, put_bridge, make_secret, toml_set, toml_string.
# shellcheck source=steps.sh
source "$HERE/steps.sh"

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
# The int8 models are built, not fetched: on a PC (`hingewatch models quantize` in this
# checkout puts them in models/ with their .build.json), then this checkout copied here.
# Each goes with its build record; the agent checks the file against it at every load
# and runs float, saying why, if it does not match. `models list` shows the outcome.
for built in "$SRC"/models/pose_*_int8.tflite; do
  [[ -f $built && -f $built.build.json ]] || continue
  run install -m 0644 "$built" "$built.build.json" "$MODELS_DIR/"
done
run env HINGEWATCH_MODELS_DIR="$MODELS_DIR" "$HINGEWATCH" models list
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
  if [[ -n $BRIDGE ]]; then
    note "Bridge to the centre $BRIDGE (devices: $DEVICE_ID ${BRIDGE_DEVICES[*]})"
    if [[ -n $BRIDGE_CA ]]; then
      put_file "$BRIDGE_CA" "$MOSQ_BRIDGE_CA" 0644 root root replace
      ((WROTE)) && mosquitto_changed=1
    fi
    put_bridge
    ((WROTE)) && mosquitto_changed=1
  fi
  run systemctl enable --now mosquitto.service
  if ((mosquitto_changed)); then
    # A restart, not a reload: Mosquitto does not reload bridges.
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
[[ -n $BRIDGE ]] && note "bridge:  journalctl -u mosquitto | grep hingewatch-centre (the centre: $BRIDGE)"
((WITH_DASHBOARD)) && note "dashboard: http://127.0.0.1:8080/ on this Pi (http_host in the config opens it to the LAN)"
((DRY_RUN)) && printf '%s: dry run: nothing was changed.\n' "$PROG"
exit 0
