#!/usr/bin/env bash
# Make the venv that runs MediaPipe's own pose solution for the (c) baseline.
# It is separate from .venv because mediapipe 0.10.14 pins numpy<2 and the project runs
# numpy 2; .venv-*/ is gitignored. Safe to run again: an existing, working venv is kept.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HINGEWATCH_BENCH_MP_VENV:-$ROOT/.venv-bench-mp}"
PY="$VENV/bin/python"

if [[ -x "$PY" ]] && "$PY" -c "import mediapipe, cv2" >/dev/null 2>&1; then
    echo "setup_mediapipe: $VENV ready" >&2
    exit 0
fi

if [[ ! -d "$VENV" ]]; then
    echo "setup_mediapipe: creating $VENV" >&2
    python3 -m venv "$VENV"
fi
# Reached also when an earlier install was cut short: the venv exists but lacks mediapipe.
echo "setup_mediapipe: installing mediapipe==0.10.14 into $VENV" >&2
"$PY" -m pip install --quiet --disable-pip-version-check \
    "mediapipe==0.10.14" "numpy<2" "opencv-python-headless<4.11"
"$PY" -c "import mediapipe, cv2" >/dev/null
echo "setup_mediapipe: $VENV ready" >&2
