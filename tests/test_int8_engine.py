"""The engine on int8 models: input and outputs read from the model, the precision chosen
and shown, and the bend metrics of tests/metrics.json held with int8 as with float."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edge.capture.sources import read_image
from edge.delivery.state import DeviceState
from edge.pose import built, models
from edge.pose.detector import PoseDetector
from edge.pose.models import model_path, resolve_precision
from edge.pose.runtime import load_interpreter
from edge.pose.tensors import PixelInput, model_precision
from edge.state import STATE_SCHEMA_PATH, validate_state
from tests.conftest import assert_starter_renders_hold
from tests.int8_models import need_int8

pytestmark = pytest.mark.pose
ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "tests" / "metrics.json"


def test_the_int8_landmark_model_takes_pixel_minus_128() -> None:
    need_int8("full")
    it = load_interpreter(model_path("pose_landmark_full_int8"))
    assert model_precision(it) == "int8"
    feed = PixelInput(it, it.get_input_details()[0], 1.0 / 255.0, 0.0)
    assert feed.quantised
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    pixels = np.tile(pixels, (16, 16, 1))  # 256×256×3, every value
    feed.write(pixels)
    written = it.get_tensor(feed.index)[0]
    np.testing.assert_array_equal(written.astype(np.int16), pixels.astype(np.int16) - 128)
    # Every output is float: the heads run in float and their outputs are not requantised.
    assert all(d["dtype"] == np.float32 for d in it.get_output_details())


def test_the_float_input_is_unchanged() -> None:
    it = load_interpreter(model_path("pose_detection"))
    assert model_precision(it) == "float"
    feed = PixelInput(it, it.get_input_details()[0], 2.0 / 255.0, -1.0)
    pixels = np.random.default_rng(1).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    feed.write(pixels)
    expected = pixels.astype(np.float32) * (2.0 / 255.0) - 1.0  # the engine's old formula
    np.testing.assert_array_equal(it.get_tensor(feed.index)[0], expected)


def test_a_detector_with_int8_outputs_is_dequantised_by_the_engine(
    fixtures: Path, tmp_path: Path
) -> None:
    """The quantizer's plain output (int8 outputs too, nothing kept float): the engine reads
    the scale and zero point of each output and still finds the person."""
    pytest.importorskip("ai_edge_quantizer", reason="pip install 'hingewatch[quantize]'")
    from ai_edge_quantizer import quantizer

    from edge.pose.quantize.build import PIXEL_SCALING
    from edge.pose.quantize.fold import SIGNATURE, prepare
    from edge.pose.quantize.recipe import STATIC_INT8

    rgb = read_image(fixtures / "images" / "pose.jpg")
    patch = PoseDetector.letterbox(rgb)[0]
    scale, offset = (np.float32(v) for v in PIXEL_SCALING["detector"])
    q = quantizer.Quantizer(bytearray(prepare(model_path("pose_detection").read_bytes())),
                            [{"regex": ".*", "operation": "*",
                              "algorithm_key": "min_max_uniform_quantize",
                              "op_config": STATIC_INT8}])
    ranges = q.calibrate({SIGNATURE: [{"input_1": (patch * scale + offset)[None]}]})
    path = tmp_path / "det.tflite"
    path.write_bytes(bytes(q.quantize(ranges, enable_progress_report=False).quantized_model))
    int8_detector = PoseDetector(path)
    assert all(d["dtype"] == np.int8
               for d in int8_detector._interpreter.get_output_details())
    found = int8_detector.detect(rgb)
    reference = PoseDetector(model_path("pose_detection")).detect(rgb)
    assert found is not None and reference is not None
    # Hip centre and shoulder centre within 5 % of the picture's larger side.
    tolerance = 0.05 * max(rgb.shape[:2])
    assert np.abs(found.keypoints_px - reference.keypoints_px).max() < tolerance


def test_auto_is_int8_on_arm64_where_built_and_float_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_int8("full")
    monkeypatch.setattr(models, "arm64", lambda: False)
    assert resolve_precision("auto", "full") == ("float", None)
    assert resolve_precision("int8", "full") == ("int8", None)
    monkeypatch.setattr(models, "arm64", lambda: True)
    assert resolve_precision("auto", "full") == ("int8", None)
    assert resolve_precision("float", "full") == ("float", None)
    # Nothing built where it looks: float, saying why and how to build.
    monkeypatch.setattr(models, "search_dirs", lambda: [tmp_path])
    monkeypatch.setattr(models, "models_dir", lambda: tmp_path)
    chosen, why = resolve_precision("auto", "full")
    assert chosen == "float" and why is not None and "models quantize" in why
    with pytest.raises(ValueError, match="precision: expected one of"):
        resolve_precision("int4", "full")


def test_arm64_is_read_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for machine, expected in (("aarch64", True), ("arm64", True), ("x86_64", False)):
        monkeypatch.setattr(built.platform, "machine", lambda m=machine: m)
        assert built.arm64() is expected


def test_the_state_names_int8_and_stays_readable_by_older_receivers() -> None:
    float_state = DeviceState("kitchen", pose_precision="float").to_dict()
    assert "pose_precision" not in float_state  # absent means float
    int8_state = DeviceState("kitchen", pose_precision="int8").to_dict()
    assert int8_state["pose_precision"] == "int8"
    validate_state(int8_state)
    assert DeviceState.from_json(json.dumps(int8_state)).pose_precision == "int8"
    # A receiver whose state/2 schema predates the field still takes every float state.
    older = json.loads(STATE_SCHEMA_PATH.read_text())
    del older["properties"]["pose_precision"]
    jsonschema.Draft202012Validator(older).validate(float_state)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(older).validate(copy.deepcopy(int8_state))
    with pytest.raises(Exception, match="pose_precision"):
        validate_state({**int8_state, "pose_precision": "int4"})


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_models_list_shows_the_builds_and_the_precision_here() -> None:
    need_int8("full")
    done = _cli("models", "list", "--precision", "int8")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("pose_landmark_full_int8") and "built " in line for line in lines)
    assert lines[-2] == "precision here (int8, full): int8"
    assert lines[-1].startswith("mask head here: on demand")  # ai-edge-litert cuts the model


def test_pose_cli_runs_int8_within_the_float_engines_limits(fixtures: Path) -> None:
    need_int8("full")
    runs = {}
    for precision in ("float", "int8"):
        done = _cli("pose", str(fixtures / "images" / "pose.jpg"), "--json",
                    "--precision", precision)
        assert done.returncode == 0, done.stderr
        runs[precision] = np.asarray(json.loads(done.stdout)["landmarks_px"])
    # MediaPipe's own pose.jpg bound (tests/test_blazepose.py IMAGE_PX_TOL).
    assert np.abs(runs["int8"] - runs["float"]).max() < 15.0


def test_the_fixture_bend_metrics_hold_with_int8(fixtures: Path) -> None:
    need_int8("full")
    done = _cli("eval", str(fixtures / "labels.csv"), "--precision", "int8")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    stored = json.loads(METRICS.read_text())["fixtures"]
    for key in ("detection_recall", "detection_precision", "accuracy", "balanced_accuracy"):
        assert figures[key] >= stored[key], f"int8: {key} fell from {stored[key]} to {figures[key]}"


def test_the_starter_renders_hold_with_int8(fixtures: Path) -> None:
    labels = fixtures / "rendered" / "labels.csv"
    if not labels.is_file():
        pytest.skip(f"{labels} is absent")
    need_int8("full")
    done = _cli("eval", str(labels), "--precision", "int8")
    assert_starter_renders_hold(done, "int8: ")


def test_the_config_takes_a_precision_and_names_a_wrong_one() -> None:
    from edge.config import ConfigError, parse

    assert parse({}).pose.precision == "auto"
    assert parse({"pose": {"precision": "int8"}}).pose.precision == "int8"
    with pytest.raises(ConfigError, match=r"hw\.toml.*precision.*int4"):
        parse({"pose": {"precision": "int4"}}, "hw.toml")


def test_quantize_without_fixtures_is_one_line_and_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_quantizer", reason="pip install 'hingewatch[quantize]'")
    done = _cli("models", "quantize", "--force", "--fixtures", str(tmp_path / "none"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "give --fixtures" in done.stderr
