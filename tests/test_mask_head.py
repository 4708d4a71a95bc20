"""The landmark model cut in two (edge/pose/split.py): the pose part on every frame, the mask
head only when a frame's mask is read — and the same outputs as the whole model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.capture.frames import Frame
from edge.capture.sources import VideoSource, read_image
from edge.errors import ModelError
from edge.pose.blazepose import BlazePose, cut_landmark_model
from edge.pose.models import model_path
from tests.int8_models import need_int8

pytestmark = pytest.mark.pose


def _can_cut() -> bool:
    return cut_landmark_model(model_path("pose_landmark_full").read_bytes()) is not None


@pytest.fixture(scope="module", params=["float", "int8"])
def engines(request: pytest.FixtureRequest) -> tuple[BlazePose, BlazePose]:
    """The engine with its mask on demand, and the one running the whole model."""
    if request.param == "int8":
        need_int8("full")
    if not _can_cut():
        pytest.skip("no TFLite flatbuffer schema here (tflite-runtime): the whole model runs")
    return (BlazePose(variant="full", tracking=True, precision=request.param),
            BlazePose(variant="full", tracking=True, precision=request.param,
                      mask_on_demand=False))


def test_the_cut_model_gives_what_the_whole_one_does(
        fixtures: Path, engines: tuple[BlazePose, BlazePose]) -> None:
    cut, whole = engines
    assert cut._mask_head is not None and whole._mask_head is None
    with VideoSource(fixtures / "video" / "pose_squats.mp4") as source:
        frames = [frame for _, frame in zip(range(12), source, strict=False)]
    frames.append(Frame(9.0, read_image(fixtures / "images" / "pose.jpg"), 99))
    cut.reset()
    whole.reset()
    for frame in frames:
        a, b = cut.process(frame), whole.process(frame)
        assert a is not None and b is not None
        np.testing.assert_array_equal(a.xy_norm, b.xy_norm)
        np.testing.assert_array_equal(a.world_m, b.world_m)
        np.testing.assert_array_equal(a.visibility, b.visibility)
        assert a.segmentation is not None and b.segmentation is not None
        np.testing.assert_array_equal(a.segmentation.mask, b.segmentation.mask)


def test_the_mask_head_runs_only_for_a_mask_that_is_read(
        fixtures: Path, engines: tuple[BlazePose, BlazePose]) -> None:
    cut, whole = engines
    head = cut._mask_head
    assert head is not None
    rgb = read_image(fixtures / "images" / "pose.jpg")
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    cut.tracking = whole.tracking = False
    try:
        before = head.runs
        first = cut.process(Frame(0.0, rgb, 0))
        second = cut.process(Frame(0.1, mirrored, 1))
        assert head.runs == before, "the mask head ran for masks nobody read"
        expected = whole.process(Frame(0.0, rgb, 0))
    finally:
        cut.tracking = whole.tracking = True
        cut.reset()
        whole.reset()
    assert first is not None and second is not None and expected is not None
    assert first.segmentation is not None and expected.segmentation is not None
    # Read after the mirrored frame went through the model: still the first frame's mask.
    np.testing.assert_array_equal(first.segmentation.mask, expected.segmentation.mask)
    assert head.runs == before + 1
    first.segmentation.mask  # noqa: B018  (worked out once)
    assert head.runs == before + 1
    # The frame's features (448 kB in int8, 1.8 MB in float) are not kept beside its mask.
    assert first.segmentation._logits_of is None


def test_without_the_schema_the_whole_model_runs(fixtures: Path) -> None:
    """tflite-runtime has no flatbuffer schema: the engine falls back to the whole model."""
    if _can_cut():
        pytest.skip("the schema is here (ai-edge-litert): covered by the tests above")
    engine = BlazePose(variant="full", tracking=False)
    assert engine._mask_head is None
    pose = engine.process(Frame(0.0, read_image(fixtures / "images" / "pose.jpg"), 0))
    assert pose is not None and pose.segmentation is not None
    assert (pose.segmentation.mask > 0.5).mean() > 0.05


def test_a_broken_model_is_not_cut_but_left_to_the_runtime_to_refuse(tmp_path: Path) -> None:
    whole = model_path("pose_landmark_full").read_bytes()
    for broken in (b"not a model" * 64, whole[: len(whole) // 3]):
        assert cut_landmark_model(broken) is None
    # Loaded from a folder with a broken landmark model, the engine fails with the one-line
    # re-fetch hint (a file that is no model at all: tflite-runtime 2.14 crashes on some
    # truncated ones, which is why fetched models are checked against their sha256 first).
    (tmp_path / "pose_detection.tflite").write_bytes(model_path("pose_detection").read_bytes())
    (tmp_path / "pose_landmark_full.tflite").write_bytes(b"not a model" * 64)
    with pytest.raises(ModelError, match="re-fetch"):
        BlazePose(variant="full", models_dir=tmp_path)
