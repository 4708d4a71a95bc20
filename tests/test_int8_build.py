"""The int8 build: folding MediaPipe's float16 weights, the recipe, the build records that
every load checks, and the build's own check against the float engine."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from edge.errors import ModelError
from edge.pose import models
from edge.pose.built import record_path
from edge.pose.models import load_builds, model_names, model_path
from edge.pose.quantize.fold import densify, prepare
from tests.int8_models import need_int8

pytestmark = pytest.mark.pose
# Folding reads and writes the flatbuffer through ai-edge-litert's schema module.
pytest.importorskip("ai_edge_litert", reason="the int8 build needs ai-edge-litert")


def _outputs(model: bytes, x: np.ndarray) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


@pytest.mark.parametrize("name", ["pose_detection", "pose_landmark_full"])
def test_folding_the_float16_weights_changes_no_output_bit(name: str) -> None:
    float_model = model_path(name).read_bytes()
    folded = prepare(float_model)
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=folded)
    ops = {d["op_name"] for d in it._get_ops_details()}
    assert not ops & {"DEQUANTIZE", "DENSIFY"}, ops
    assert list(it.get_signature_list()) == ["serving_default"]
    shape = it.get_input_details()[0]["shape"]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for before, after in zip(_outputs(float_model, x), _outputs(folded, x), strict=True):
        np.testing.assert_array_equal(before, after)


def test_densify_reads_dense_and_csr_dimensions() -> None:
    # A 2×3 matrix stored row by row (dense), columns compressed: [[0, 5, 0], [7, 0, 9]].
    dense_dim = SimpleNamespace(format=0, denseSize=2)
    csr_dim = SimpleNamespace(format=1, arraySegments=SimpleNamespace(values=[0, 1, 3]),
                              arrayIndices=SimpleNamespace(values=[1, 0, 2]))
    sparsity = SimpleNamespace(traversalOrder=[0, 1], blockMap=None,
                               dimMetadata=[dense_dim, csr_dim])
    out = densify(np.array([5, 7, 9], np.float16), (2, 3), sparsity)
    np.testing.assert_array_equal(out, [[0, 5, 0], [7, 0, 9]])
    with pytest.raises(ValueError, match="3 values for 2 positions"):
        short = SimpleNamespace(format=1, arraySegments=SimpleNamespace(values=[0, 1, 2]),
                                arrayIndices=SimpleNamespace(values=[1, 0]))
        densify(np.array([5, 7, 9], np.float16), (2, 3),
                SimpleNamespace(traversalOrder=[0, 1], blockMap=None,
                                dimMetadata=[dense_dim, short]))


def test_the_recipe_keeps_the_first_convs_and_the_heads_float() -> None:
    from ai_edge_litert.tools import flatbuffer_utils

    from edge.pose.quantize.recipe import float_ops

    model = flatbuffer_utils.read_model_from_bytearray(
        bytearray(prepare(model_path("pose_landmark_full").read_bytes())))
    kept = float_ops(model, first_convs=2, heads=True, head_cells=0)
    # Two convolutions, then each output's last conv and the reshape/sigmoid after it.
    assert "Identity_2" in kept and "Identity_3" in kept  # the mask's and heatmap's convs
    assert {"Identity", "Identity_1", "Identity_4"} <= set(kept)
    assert len(kept) == 2 + 2 + 3 * 2 + 1  # convs, mask/heatmap, 3 × (conv, reshape), sigmoid
    assert len(float_ops(model, 2, True, head_cells=4)) > len(kept)
    # min_cells keeps the high-resolution stages too: every op drawn at 128×128 or more.
    graph = model.subgraphs[0]
    large = {graph.tensors[op.outputs[0]].name.decode() for op in graph.operators
             if len(shape := list(graph.tensors[op.outputs[0]].shape)) == 4
             and shape[1] * shape[2] >= 128 * 128}
    assert large and large <= set(float_ops(model, 2, True, 0, min_cells=128 * 128))
    assert float_ops(model, 2, True, 0, min_cells=0) == kept


def test_a_recipe_without_min_cells_keeps_the_key_of_builds_made_before_it() -> None:
    """float_min_cells = 0 is left out of the build key: the full models built before the
    field existed still match their records (a changed key would force a rebuild)."""
    full = load_builds()["pose_landmark_full_int8"]
    assert full.float_min_cells == 0
    changed = dataclasses.replace(full, float_min_cells=16384)
    assert changed.key("x") != full.key("x")
    legacy = {k: v for k, v in dataclasses.asdict(full).items()
              if k not in ("reference_sha256", "float_min_cells")}
    text = json.dumps({**legacy, "source_sha256": "x"}, sort_keys=True)
    assert full.key("x") == hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def built_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The int8 full models and their records, copied into a models folder of their own."""
    need_int8("full")
    for name in model_names("full", "int8"):
        src = model_path(name)
        shutil.copy(src, tmp_path / src.name)
        shutil.copy(record_path(src), record_path(tmp_path / src.name))
    monkeypatch.setattr(models, "search_dirs", lambda: [tmp_path])
    return tmp_path


def test_a_built_file_loads_only_while_it_matches_its_record(built_copy: Path) -> None:
    model = built_copy / "pose_landmark_full_int8.tflite"
    assert model_path("pose_landmark_full_int8") == model
    record = json.loads(record_path(model).read_text())
    assert record["tool"] == "ai-edge-quantizer==0.10.0"
    assert record["calibration"]["landmark_crops"] >= 100
    assert not any("pose.jpg" in s or "pose_squats" in s for s in record["calibration"]["sources"])
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="fails its checksum") as info:
        model_path("pose_landmark_full_int8")
    assert "hingewatch models quantize --variant full --force" in str(info.value)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r.unlink(), "has no build record"),
        (lambda r: r.write_text("{"), "unreadable build record"),
        (lambda r: r.write_text(json.dumps({**json.loads(r.read_text()), "key": "0" * 64})),
         "built by another recipe"),
    ],
    ids=["no record", "cut record", "another recipe"],
)
def test_a_bad_record_says_how_to_rebuild(built_copy: Path, damage, message: str) -> None:
    damage(record_path(built_copy / "pose_detection_int8.tflite"))
    with pytest.raises(ModelError, match=message) as info:
        model_path("pose_detection_int8")
    assert "hingewatch models quantize" in str(info.value)


def test_a_missing_build_says_how_to_build(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "search_dirs", lambda: [tmp_path])
    monkeypatch.setattr(models, "models_dir", lambda: tmp_path)
    with pytest.raises(ModelError, match="is not built") as info:
        model_path("pose_landmark_full_int8")
    assert "`hingewatch models quantize --variant full`" in str(info.value)


def test_the_build_refuses_another_quantizer_version() -> None:
    from dataclasses import replace

    from edge.pose.quantize.build import check_tool

    spec = load_builds()["pose_landmark_full_int8"]
    with pytest.raises(ModelError, match=r"needs ai-edge-quantizer==0\.0\.1 .*\[quantize\]"):
        check_tool(replace(spec, tool="ai-edge-quantizer==0.0.1"))


def test_the_check_refuses_a_model_beyond_its_limits(fixtures: Path) -> None:
    from edge.pose.blazepose import BlazePose
    from edge.pose.quantize.build import check

    need_int8("full")
    reference = BlazePose(variant="full")
    candidate = BlazePose(variant="full", precision="int8")
    limits = load_builds()["pose_landmark_full_int8"].check
    passed = check(reference, candidate, fixtures, limits)
    assert passed.failures == [], passed.figures
    assert 0 < passed.figures["still_max_px"] <= limits["still_max_px"]
    strict = check(reference, candidate, fixtures, {**limits, "clip_mean_px": 0.1})
    assert len(strict.failures) == 1 and strict.failures[0].startswith("clip_mean_px")


def test_quantize_keeps_an_intact_build_and_says_so() -> None:
    need_int8("full")
    done = subprocess.run([sys.executable, "-m", "edge.cli", "models", "quantize"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pose_landmark_full_int8.tflite: already built" in done.stdout
