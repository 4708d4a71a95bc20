#!/usr/bin/env bash
# Home + centre: the Mosquitto texts that bridge a home's broker to a central one.
# Both subcommands only print; install.sh --bridge puts the first in place, and the
# centre's operator appends the second to the centre broker's ACL file.
set -euo pipefail

PROG=bridge.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

# The one place the bridge's settings are named (tests/test_bridge*.py read them here).
readonly CONNECTION=hingewatch-centre
readonly SYSTEM_CA_DIR=/etc/ssl/certs
readonly TOPIC_KINDS=(event status state)

usage() {
  cat <<EOF
Usage: systemd/bridge.sh conf mqtts://HOST[:PORT] --bridge-credentials FILE --bridge-device ID...
                         [--bridge-ca FILE [--ca-as PATH]] [--hide-password]
       systemd/bridge.sh centre-acl [--against ACL_FILE] [--] HOME_USER DEVICE...

conf        print the home broker's bridge (a conf.d snippet): each device's
            hingewatch/ID/{$(IFS=,; echo "${TOPIC_KINDS[*]}")} out to the centre at QoS 1, over TLS
            (the system's CAs, or --bridge-ca FILE), as the account in FILE: only its
            owner (root) can read or write, with the lines
              username = HOME_USER
              password = SECRET
            --ca-as PATH: the config names PATH, where install.sh copies FILE;
            --hide-password prints the password as ********.
centre-acl  print the centre broker's ACL lines that let HOME_USER publish those topics
            of its own DEVICEs and nothing else; --against ACL_FILE refuses a device
            that ACL_FILE already grants to another home.
EOF
}

# --- conf -----------------------------------------------------------------------------------

# FILE: sets CRED_USER and CRED_PASSWORD from a credentials file that only its owner, root
# (or the user running this, as in the tests), can read or write.
read_credentials() {
  local file=$1 option=--bridge-credentials mode owner line key value n=0
  [[ -e $file ]] ||
    die "$option: $file: no such file (write 'username = NAME' and 'password = SECRET' there, mode 0600)"
  [[ -f $file && ! -L $file ]] || die "$option: $file: not a regular file"
  mode=$(stat -c %a "$file")
  owner=$(stat -c %u "$file")
  [[ ($owner == 0 || $owner == "$EUID") && ($mode == 600 || $mode == 400) ]] ||
    die "$option: $file: mode $mode, owner uid $owner; it holds a password: chown root: $file; chmod 600 $file"
  [[ -r $file ]] || die "$option: $file: root-only, as it should be: run this as root (a dry run too)"
  CRED_USER=""
  CRED_PASSWORD=""
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    matches "$line" '^[[:space:]]*(#.*)?$' && continue
    matches "$line" '^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$' ||
      die "$option: $file line $n: expected 'username = NAME' or 'password = SECRET'"
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    case $key in
      username) check_name "$option: $file: username" "user name" "$value"; CRED_USER=$value ;;
      # Printable ASCII without spaces: the value goes on one line of mosquitto.conf.
      password)
        matches "$value" '^[!-~]{16,256}$' ||
          die "$option: $file: password: expected 16-256 printable ASCII characters without spaces"
        CRED_PASSWORD=$value ;;
      *) die "$option: $file line $n: unknown key '$key' (expected username, password)" ;;
    esac
  done <"$file"
  [[ -n $CRED_USER ]] || die "$option: $file: no 'username = NAME' line"
  [[ -n $CRED_PASSWORD ]] || die "$option: $file: no 'password = SECRET' line"
}

# OPTION FILE: a readable file with a PEM certificate in it.
check_ca_file() {
  local option=$1 file=$2
  [[ -f $file && -r $file ]] || die "$option: $file: no such readable file"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$file" ||
    die "$option: $file: no PEM certificate in it"
}

# OPTION DEVICE...: each device id valid and named once.
check_devices() {
  local option=$1 device
  local -A seen=()
  shift
  (($#)) || die "$option: expected at least one device id"
  for device; do
    check_name "$option" "device id" "$device"
    [[ -z ${seen[$device]:-} ]] || die "$option: device '$device' is named twice"
    seen[$device]=1
  done
}

cmd_conf() {
  local url="" credentials="" ca="" ca_as="" hide=0 devices=() device kind
  while (($#)); do
    case $1 in
      --bridge-credentials) (($# >= 2)) || die "--bridge-credentials needs a FILE"; credentials=$2; shift ;;
      --bridge-device) (($# >= 2)) || die "--bridge-device needs an ID"; devices+=("$2"); shift ;;
      --bridge-ca) (($# >= 2)) || die "--bridge-ca needs a FILE"; ca=$2; shift ;;
      --ca-as) (($# >= 2)) || die "--ca-as needs a PATH"; ca_as=$2; shift ;;
      --hide-password) hide=1 ;;
      -*) die "conf: unknown option '$1' (see --help)" ;;
      *) [[ -z $url ]] || die "conf: one URL only, got '$url' and '$1'"; url=$1 ;;
    esac
    shift
  done
  [[ -n $url ]] || die "conf: expected the centre's mqtts://HOST[:PORT]"
  parse_mqtt_url "--bridge" "$url"
  [[ $URL_TLS == true ]] ||
    die "--bridge: the bridge crosses networks you do not own: mqtts:// only, got '$url'"
  [[ $URL_HOST != *:* ]] ||
    die "--bridge: '$URL_HOST': give the centre's host name (its certificate names it)"
  [[ -n $credentials ]] || die "conf: --bridge-credentials FILE is required"
  check_devices --bridge-device "${devices[@]}"
  if [[ -n $ca ]]; then
    check_ca_file --bridge-ca "$ca"
    ca=${ca_as:-$(realpath -- "$ca")}
    # One word on one line of mosquitto.conf.
    matches "$ca" '^/[^[:space:]#]*$' || die "--bridge-ca: '$ca': a path without spaces or '#'"
  fi
  read_credentials "$credentials"
  local password=$CRED_PASSWORD
  ((hide)) && password='********'

  cat <<EOF
# hingewatch: this home's bridge to the centre, written by systemd/install.sh --bridge
# (running it again rewrites this file). Bridges start with Mosquitto and a reload does
# not restart them: after a change, sudo systemctl restart mosquitto.
connection $CONNECTION
address $URL_HOST:$URL_PORT
bridge_protocol_version mqttv311
# The home's account at the centre (from $credentials): the centre's ACL lets it publish
# these devices' topics and nothing else (systemd/bridge.sh centre-acl).
remote_username $CRED_USER
remote_password $password
# Stable client ids and persistent sessions on both sides: while the centre is away this
# broker queues the events for the bridge (up to max_queued_messages), and they go out,
# once each, when it is back.
remote_clientid hingewatch-bridge-$CRED_USER
local_clientid hingewatch-bridge-$CRED_USER.local
cleansession false
local_cleansession false
# Try again 1-15 s after a failure, with jitter so a centre restart is not met by every
# home at once.
restart_timeout 1 15
# Out only: the bridge subscribes to nothing at the centre.
bridge_attempt_unsubscribe false
# The bridge's state (1 up, 0 down) on \$SYS/broker/connection/hingewatch-bridge-$CRED_USER/state,
# here only: the centre's ACL gives the home no \$SYS topic.
notifications true
notifications_local_only true
# TLS, and the centre's certificate must name $URL_HOST.
EOF
  if [[ -n $ca ]]; then
    printf 'bridge_cafile %s\n' "$ca"
  else
    printf 'bridge_capath %s\n' "$SYSTEM_CA_DIR"
  fi
  printf 'bridge_insecure false\n'
  printf '# Each device: its events, status and state, QoS 1, retained flags kept.\n'
  for device in "${devices[@]}"; do
    for kind in "${TOPIC_KINDS[@]}"; do
      printf 'topic hingewatch/%s/%s out 1\n' "$device" "$kind"
    done
  done
}

# --- centre-acl -----------------------------------------------------------------------------

# HOME_USER ACL_FILE DEVICE...: refuse a device ACL_FILE grants to another user.
check_against() {
  local home=$1 file=$2 user="" line owner
  shift 2
  local -A wanted=()
  for line; do wanted[$line]=1; done
  [[ -f $file && -r $file ]] || die "--against: $file: no such readable file"
  while IFS= read -r line || [[ -n $line ]]; do
    if matches "$line" '^[[:space:]]*user[[:space:]]+([^[:space:]]+)'; then
      user=${BASH_REMATCH[1]}
    elif matches "$line" '^[[:space:]]*pattern[[:space:]]'; then
      user=""
    elif matches "$line" '^[[:space:]]*topic[[:space:]]+(write|readwrite)[[:space:]]+hingewatch/([^/[:space:]]+)/'; then
      owner=${BASH_REMATCH[2]}
      [[ -n $user && $user != "$home" && -n ${wanted[$owner]:-} ]] &&
        die "device '$owner' is already granted to '$user' in $file: device ids are unique across homes"
    fi
  done <"$file"
  return 0
}

cmd_centre_acl() {
  local home against="" names=() names_only=0 device kind
  while (($#)); do
    if ((names_only)); then
      names+=("$1")
    else
      case $1 in
        --against) (($# >= 2)) || die "--against needs an ACL_FILE"; against=$2; shift ;;
        --) names_only=1 ;;  # names only after it: a device id may start with '-'
        -*) die "centre-acl: unknown option '$1' (see --help)" ;;
        *) names+=("$1") ;;
      esac
    fi
    shift
  done
  home=${names[0]:-}
  local devices=("${names[@]:1}")
  [[ -n $home ]] || die "centre-acl: expected HOME_USER DEVICE..."
  check_name "centre-acl HOME_USER" "user name" "$home"
  check_devices "centre-acl DEVICE" "${devices[@]}"
  [[ -z $against ]] || check_against "$home" "$against" "${devices[@]}"
  printf '\n# home %s: its bridge publishes its own devices'"'"' topics, nothing else\n' "$home"
  printf '# (systemd/install.sh --centre-acl %s %s)\n' "$home" "${devices[*]}"
  printf 'user %s\n' "$home"
  for device in "${devices[@]}"; do
    for kind in "${TOPIC_KINDS[@]}"; do
      printf 'topic write hingewatch/%s/%s\n' "$device" "$kind"
    done
  done
}

case ${1:-} in
  conf) shift; cmd_conf "$@" ;;
  centre-acl) shift; cmd_centre_acl "$@" ;;
  -h | --help) usage ;;
  *) die "expected 'conf' or 'centre-acl' (see --help), got '${1:-}'" ;;
esac
