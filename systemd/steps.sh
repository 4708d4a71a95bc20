# shellcheck shell=bash
# shellcheck disable=SC2034  # WROTE and STEP are read by install.sh, which sources this
# How install.sh shows and runs its steps, and how it puts files in place: sourced by it,
# never run. Every helper honours DRY_RUN (print, change nothing).
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

# The bridge snippet holds the home's password: written from memory, never on a command
# line or in the output; 0640 root:mosquitto, as the broker reads it again on a reload.
put_bridge() {
  WROTE=0
  if cmp -s <(printf '%s\n' "$BRIDGE_CONF") "$MOSQ_BRIDGE"; then
    note "$MOSQ_BRIDGE is up to date"
    return 0
  fi
  printf '+ write %s.new (the password from %s):\n' "$MOSQ_BRIDGE" "$BRIDGE_CREDENTIALS"
  printf '%s\n' "$BRIDGE_SHOWN" | sed 's/^/    /'
  ((DRY_RUN)) || (umask 077 && printf '%s\n' "$BRIDGE_CONF" >"$MOSQ_BRIDGE.new")
  run chown root:mosquitto "$MOSQ_BRIDGE.new"
  run chmod 0640 "$MOSQ_BRIDGE.new"
  run mv "$MOSQ_BRIDGE.new" "$MOSQ_BRIDGE"
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
