# shellcheck shell=bash
# What install.sh and bridge.sh both check, in one place: sourced by them, never run.
# The caller sets PROG (the name its errors start with).

# A device id, as edge/delivery/topics.py's DEVICE_ID_PATTERN (tests/test_bridge_args.py
# holds the two equal); a broker user name at the centre follows the same rule.
readonly NAME_RE='^[A-Za-z0-9_-]{1,64}$'
# Broker accounts that are not devices or homes: the ACL files give them other rights.
readonly RESERVED_NAMES=(dashboard homeassistant)

die() {  # one clear line, exit 2; a newline in a quoted value is shown as \n
  local message=$*
  message=${message//$'\n'/\\n}
  printf '%s: %s\n' "$PROG" "${message//$'\r'/\\r}" >&2
  exit 2
}

matches() {  # VALUE REGEX: in the C locale, where [A-Za-z] is ASCII letters only
  local LC_ALL=C
  [[ $1 =~ $2 ]]
}

# OPTION KIND VALUE: VALUE is a device id or account name, not a reserved one.
check_name() {
  local option=$1 kind=$2 value=$3 reserved
  matches "$value" "$NAME_RE" ||
    die "$option: expected a $kind of 1-64 letters, digits, '_' or '-', got '$value'"
  for reserved in "${RESERVED_NAMES[@]}"; do
    [[ $value != "$reserved" ]] ||
      die "$option: '$value' is the broker account of another client; choose another name"
  done
}

# OPTION URL: sets URL_TLS (true/false), URL_HOST and URL_PORT (1883 or 8883 by default)
# from mqtt://HOST[:PORT] or mqtts://HOST[:PORT]; HOST is a DNS name, an IPv4 address or
# an [IPv6] address.
parse_mqtt_url() {
  local option=$1 url=$2 label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
  matches "$url" "^(mqtts?)://($label(\\.$label)*|\\[[0-9A-Fa-f:.]+\\])(:([0-9]+))?/?$" ||
    die "$option: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got '$url'"
  URL_TLS=false
  [[ ${BASH_REMATCH[1]} == mqtts ]] && URL_TLS=true
  URL_HOST=${BASH_REMATCH[2]}
  URL_HOST=${URL_HOST#[}
  URL_HOST=${URL_HOST%]}
  URL_PORT=${BASH_REMATCH[7]}  # [3]-[5] are the labels' groups
  if [[ -z $URL_PORT ]]; then
    URL_PORT=1883
    [[ $URL_TLS == false ]] || URL_PORT=8883
  fi
  # No leading zero: bash arithmetic would read it as octal.
  if ! matches "$URL_PORT" '^[1-9][0-9]{0,4}$' || ((URL_PORT > 65535)); then
    die "$option: port must be 1-65535, got '$URL_PORT'"
  fi
}
