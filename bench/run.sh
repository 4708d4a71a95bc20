#!/usr/bin/env bash
# `make bench`: pose engine speed against the bare model and against MediaPipe.
#
# For each clip, on 1 core with 1 interpreter thread and on 2 cores with 2 threads (pinned
# with taskset so the figures mean the same on any machine with >= 2 cores):
#   (a) bare landmark-model invoke, (b) engine in tracking mode + smoothing  -> pose_bench.py
#   (c) MediaPipe 0.10.14's pose solution, in its own venv                    -> mediapipe_pose_bench.py
# then a JSON summary with the targets, and a Markdown table for the README.
# Progress goes to stderr; the summary and table to stdout. Exit status is 0 when every
# figure was measured, whether or not it meets its target (the summary says).
#
# Environment: HINGEWATCH_FIXTURES (the fixtures folder), BENCH_RETRIES (default 2): a case
# whose CPUs other processes used more than BENCH_MAX_OTHER_LOAD_PCT (default 5) of the time
# is run again, up to this many times, and the quietest run is kept.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
PY="${HINGEWATCH_PYTHON:-$ROOT/.venv/bin/python}"
MP_VENV="${HINGEWATCH_BENCH_MP_VENV:-$ROOT/.venv-bench-mp}"
MP_PY="$MP_VENV/bin/python"
RETRIES="${BENCH_RETRIES:-2}"
MAX_OTHER_LOAD_PCT="${BENCH_MAX_OTHER_LOAD_PCT:-5}"
CLIPS=(squats_720x1280 walk_640x480)
# "cores:cpu list": threads = cores, so each interpreter thread has a core of its own.
CASES=("1:0" "2:0,1")

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

log() { echo "bench: $*" >&2; }

# Other processes' share of the case's CPUs during a run, from its JSON (999 if unknown).
other_load() {
    "$PY" -c 'import json, sys; v = json.load(open(sys.argv[1])).get("other_load_pct")
print(999 if v is None else int(round(v)))' "$1"
}

# run_case OUT_FILE CMD...: run CMD (stdout: one JSON object) until the machine was quiet
# enough, at most 1 + RETRIES times; keep the quietest run in OUT_FILE. Fails with CMD.
run_case() {
    local dest="$1" best=1000 load attempt
    shift
    for ((attempt = 0; attempt <= RETRIES; attempt++)); do
        "$@" >"$OUT/try.json" 2>"$OUT/try.err" || return 1
        load="$(other_load "$OUT/try.json")"
        if ((load < best)); then
            best="$load"
            mv "$OUT/try.json" "$dest"
        fi
        ((best <= MAX_OTHER_LOAD_PCT)) && return 0
        log "  other processes used ${load}% of these CPUs; running again"
    done
    log "  kept the quietest run (${best}% other load): its figures are noisy"
}

if ! command -v taskset >/dev/null; then
    log "taskset not found (util-linux): cannot pin cores"
    exit 1
fi
if [[ ! -x "$PY" ]]; then
    log "$PY missing: make the project venv first"
    exit 1
fi

skipped_c=""
if ! bash "$BENCH/setup_mediapipe.sh" >"$OUT/setup_mediapipe.log" 2>&1; then
    skipped_c="could not make $MP_VENV: $(grep -v '^WARNING: Location' "$OUT/setup_mediapipe.log" \
        | tail -n 3 | tr '\n' ' ')"
    log "(c) skipped: $skipped_c"
fi
rm -f "$OUT/setup_mediapipe.log"

ncpu="$(nproc)"
for case in "${CASES[@]}"; do
    cores="${case%%:*}"
    cpus="${case#*:}"
    if ((cores > ncpu)); then
        log "skipping the ${cores}-core case: this machine has $ncpu"
        continue
    fi
    for clip in "${CLIPS[@]}"; do
        log "$clip on cpu $cpus, $cores thread(s): (a) + (b)"
        if ! run_case "$OUT/$clip.${cores}c.hingewatch.json" \
            taskset -c "$cpus" "$PY" "$BENCH/pose_bench.py" --clip "$clip" --threads "$cores"; then
            cat "$OUT/try.err" >&2
            exit 1
        fi
        if [[ -z "$skipped_c" ]]; then
            log "$clip on cpu $cpus: (c) MediaPipe"
            # MediaPipe's C++ logs to stderr at length; it is shown only if the run fails.
            if ! run_case "$OUT/$clip.${cores}c.mediapipe.json" \
                taskset -c "$cpus" "$MP_PY" "$BENCH/mediapipe_pose_bench.py" --clip "$clip"; then
                tail -n 20 "$OUT/try.err" >&2
                skipped_c="mediapipe_pose_bench.py failed on $clip: $(tail -n 1 "$OUT/try.err")"
                log "(c) skipped from here on: $skipped_c"
            fi
        fi
    done
done

rm -f "$OUT/try.json" "$OUT/try.err"
if [[ -n "$skipped_c" ]]; then
    "$PY" "$BENCH/summarize.py" "$OUT" --skipped-c "$skipped_c"
else
    "$PY" "$BENCH/summarize.py" "$OUT"
fi
