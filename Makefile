# hingewatch: `make demo` runs the product, `make test` runs the tests, on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The second runtime: the pose tests run again on tflite-runtime 2.14 (numpy<2 there).
LEGACY := .venv-tflite
LEGACY_STAMP := $(LEGACY)/.installed
FIXTURES ?= ../shared/fixtures
export HINGEWATCH_FIXTURES ?= $(abspath $(FIXTURES))

.PHONY: setup models demo system-deps test test-main test-tflite test-arm64 bench lint clean

setup: $(STAMP) models

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[edge,dashboard,centre,demo,dev,quantize]'
	touch $(STAMP)

models: $(STAMP)
	$(BIN)/hingewatch models fetch --variant full

demo: setup
	$(BIN)/hingewatch demo

# What the tests need from Debian's packages: a real Mosquitto broker, Chromium for the
# browser tests, systemd-analyze and ShellCheck for the Pi's service files, a font, and
# PostgreSQL's server (the dashboard tests run on it as well as on SQLite).
# tests/system_deps.sh runs `apt-get update` and `apt-get install -y` for the missing ones
# (as root, or through `sudo -n`), else stops at once with the one command to run.
system-deps:
	bash tests/system_deps.sh

test: system-deps test-main test-tflite

test-main: system-deps setup
	HINGEWATCH_EXPECT_RUNTIME=litert $(BIN)/python -m pytest -q

$(LEGACY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(LEGACY)
	$(LEGACY)/bin/python -m pip install --quiet --upgrade pip
	$(LEGACY)/bin/python -m pip install --quiet 'tflite-runtime==2.14.0' 'numpy<2' \
		'opencv-python-headless<4.11' pytest jsonschema paho-mqtt cryptography
	$(LEGACY)/bin/python -m pip install --quiet --no-deps -e .
	touch $(LEGACY_STAMP)

test-tflite: system-deps setup $(LEGACY_STAMP)
	HINGEWATCH_EXPECT_RUNTIME=tflite $(LEGACY)/bin/python -m pytest -q \
		tests/test_runtime.py $$(grep -l 'mark.pose' tests/test_*.py)

# arm64 for real: a Debian 12 arm64 root under qemu user emulation (root; tests/arm64/smoke.sh).
test-arm64: setup
	bash tests/arm64/smoke.sh

bench: setup
	bash bench/run.sh
	$(BIN)/python bench/versus_mediapipe.py
	$(BIN)/hingewatch models fetch --variant lite
	$(BIN)/hingewatch models fetch --variant heavy
	$(BIN)/python bench/precision_bench.py
	$(BIN)/python bench/pi_estimate.py
	$(BIN)/python bench/events_bench.py
	$(BIN)/python bench/dashboard_bench.py
	$(BIN)/python bench/dashboard_load_bench.py
	$(BIN)/python bench/centre_bench.py
	$(BIN)/python bench/agent_bench.py
	$(BIN)/python bench/practice_live_bench.py

lint: setup
	$(BIN)/ruff check edge dashboard tests bench
	$(BIN)/mypy edge dashboard

clean:
	rm -rf $(VENV) $(LEGACY) out .pytest_cache .mypy_cache .ruff_cache

# Rendered people in known bends (tools/render/README.md): a development tool, not part of
# `make test`. Needs MakeHuman's CC0 assets (README step 1) and Python 3.11 for bpy.
RENDER_PYTHON ?= python3.11
RENDER_VENV ?= .venv-render
MH_DATA ?= ../render-assets/data
RENDERS ?= ../renders/set1
RENDER_COUNT ?= 600
RENDER_SEED ?= 1
RENDER_WIDTH ?= 480
RENDER_SAMPLES ?= 8
RENDER_CLIPS ?= 0
RENDER_SIT_CLIPS ?= 0
.PHONY: renders
renders:
	@test -f $(MH_DATA)/3dobjs/base.obj || { echo "no MakeHuman assets in $(MH_DATA): fetch github:markandre13/makehuman.js and run: bash tools/render/extract_assets.sh GITDIR $(abspath $(MH_DATA)/..)  (or set MH_DATA=)"; exit 2; }
	test -x $(RENDER_VENV)/bin/python || $(RENDER_PYTHON) -m venv $(RENDER_VENV)
	$(RENDER_VENV)/bin/python -c 'import bpy, cv2' 2>/dev/null || \
		$(RENDER_VENV)/bin/python -m pip install --quiet bpy 'opencv-python-headless<4.11'
	MH_DATA=$(abspath $(MH_DATA)) $(RENDER_VENV)/bin/python tools/render/generate.py $(RENDERS) \
		--count $(RENDER_COUNT) --seed $(RENDER_SEED) --width $(RENDER_WIDTH) \
		--samples $(RENDER_SAMPLES) --clips $(RENDER_CLIPS) --sit-clips $(RENDER_SIT_CLIPS)
