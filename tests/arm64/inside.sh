#!/usr/bin/env bash
# Run inside the arm64 root by tests/arm64/smoke.sh: install, import, pose.jpg, pure tests.
set -euo pipefail
OUT="$1"
mkdir -p "$OUT"
cd /opt/hingewatch
echo "machine $(uname -m), $(python3 --version)"
# What install.sh puts on a Pi: the edge and the dashboard extras (the CLI's `dashboard`
# verbs are among the pure tests).
if ! /opt/venv/bin/python -c 'import edge.cli, uvicorn, fastapi, pytest' 2>/dev/null; then
    [[ -x /opt/venv/bin/python ]] || python3 -m venv /opt/venv
    /opt/venv/bin/pip install --quiet -e '.[edge,dashboard]' pytest jsonschema
fi
/opt/venv/bin/pip install --quiet --no-deps -e .  # this checkout's code, not a stale one
if [[ ! -x /opt/venv-tflite/bin/python ]]; then
    python3 -m venv /opt/venv-tflite
    /opt/venv-tflite/bin/pip install --quiet 'tflite-runtime==2.14.0' 'numpy<2' \
        'opencv-python-headless<4.11' jsonschema paho-mqtt
fi
/opt/venv-tflite/bin/pip install --quiet --no-deps -e .
/opt/venv/bin/python -c 'import ai_edge_litert.interpreter, cv2, numpy, edge.cli; print("litert imports:", numpy.__version__, cv2.__version__)'
/opt/venv-tflite/bin/python -c 'import tflite_runtime.interpreter, cv2, numpy, edge.cli; print("tflite-runtime imports:", numpy.__version__, cv2.__version__)'
export HINGEWATCH_MODELS_DIR=/opt/hingewatch/models
/opt/venv/bin/hingewatch models list | tail -3
for precision in float int8; do
    t0=$SECONDS
    /opt/venv/bin/hingewatch pose /opt/fixtures/images/pose.jpg --json --threads 1 \
        --precision "$precision" >"$OUT/pose_litert_$precision.json"
    echo "pose.jpg, ai-edge-litert, $precision: $((SECONDS - t0)) s"
done
t0=$SECONDS
/opt/venv-tflite/bin/hingewatch pose /opt/fixtures/images/pose.jpg --json --threads 1 \
    --runtime tflite --precision float >"$OUT/pose_tflite_float.json"
echo "pose.jpg, tflite-runtime, float: $((SECONDS - t0)) s"
t0=$SECONDS
/opt/venv/bin/python -m pytest -q -p no:cacheprovider tests/test_config.py tests/test_bends.py \
    tests/test_classifier.py tests/test_outbox.py -x
echo "pure-Python tests: $((SECONDS - t0)) s"
