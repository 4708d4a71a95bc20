"""MoveNet Lightning int8 on real pictures, held to the model owners' own tolerances."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.capture.frames import Frame
from edge.errors import ModelError
from edge.pose.landmarks import Joint
from edge.pose.movenet import COCO_JOINTS, INPUT_SIZE, MoveNet
from tests.conftest import fixtures_dir

pytestmark = pytest.mark.pose

FIXTURES = fixtures_dir()
MODEL = FIXTURES / "models" / "movenet_single_pose_lightning_ptq.tflite"
# libcoral movenet_test.cc: keypoints scoring above 0.4 in both, at least 8, within 0.04.
CORAL_MIN_SCORE = 0.4
CORAL_MIN_KEYPOINTS = 8
CORAL_TOLERANCE_NORM = 0.04
# tfjs movenet_test.ts on pose_1.mp4.
TFJS_TOLERANCE_PX = 60.0
COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
LOWER_BODY = (11, 12, 13, 14, 15, 16)  # COCO hips, knees, ankles

if not MODEL.is_file():
    pytest.skip(f"fixtures not found at {FIXTURES} (set HINGEWATCH_FIXTURES)",
                allow_module_level=True)


def _rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, f"cannot read {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def single() -> MoveNet:
    return MoveNet(model=MODEL, tracking=False)


@pytest.fixture(scope="module")
def squat_rgb() -> np.ndarray:
    return _rgb(FIXTURES / "images" / "squat.png")


@pytest.fixture(scope="module")
def squat_stretched(single: MoveNet, squat_rgb: np.ndarray) -> np.ndarray:
    """(17, 3) of (y, x, score) for squat.png stretched to the input, as libcoral feeds it."""
    return single.run_model(cv2.resize(squat_rgb, (INPUT_SIZE, INPUT_SIZE)))


def test_bare_model_matches_libcoral_reference(squat_stretched: np.ndarray) -> None:
    path = FIXTURES / "expected" / "movenet_single_pose_lightning_ptq_reference.csv"
    with path.open(newline="") as fh:
        ref = {int(r["keypoint_id"]): r for r in csv.DictReader(fh)}
    deviations = []
    for k, (y, x, score) in enumerate(squat_stretched):
        row = ref[k]
        if score > CORAL_MIN_SCORE and float(row["keypoint_score"]) > CORAL_MIN_SCORE:
            deviations.append(max(abs(x - float(row["keypoint_x"])),
                                  abs(y - float(row["keypoint_y"]))))
    assert len(deviations) >= CORAL_MIN_KEYPOINTS
    assert max(deviations) <= CORAL_TOLERANCE_NORM, deviations


def test_crop_maps_back_to_the_frame(
    single: MoveNet, squat_rgb: np.ndarray, squat_stretched: np.ndarray
) -> None:
    pose = single.process(Frame(0.0, squat_rgb))
    assert pose is not None
    assert pose.engine == "movenet-lightning"
    assert pose.world_m is None and pose.segmentation is None and pose.z_norm is None
    for k in LOWER_BODY:
        expected_xy = squat_stretched[k, [1, 0]]
        got_xy = pose.xy_norm[COCO_JOINTS[k]]
        assert np.abs(got_xy - expected_xy).max() <= CORAL_TOLERANCE_NORM, (k, got_xy)


def test_unmapped_joints_borrow_a_neighbour_and_are_invisible(
    single: MoveNet, squat_rgb: np.ndarray
) -> None:
    pose = single.process(Frame(0.0, squat_rgb))
    assert pose is not None
    assert np.isfinite(pose.xy_norm).all()
    assert pose.visibility[Joint.LEFT_HEEL] == 0.0
    np.testing.assert_array_equal(pose.xy_norm[Joint.LEFT_HEEL], pose.xy_norm[Joint.LEFT_ANKLE])
    np.testing.assert_array_equal(pose.xy_norm[Joint.MOUTH_RIGHT], pose.xy_norm[Joint.NOSE])
    assert pose.visibility[Joint.LEFT_HIP] > 0.0


def test_empty_frame_gives_none(single: MoveNet) -> None:
    grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    assert single.process(Frame(0.0, grey)) is None


def test_truncated_model_asks_to_refetch(tmp_path: Path) -> None:
    broken = tmp_path / MODEL.name
    data = MODEL.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="re-fetch"):
        MoveNet(model=broken)


def test_tracking_follows_tfjs_on_video() -> None:
    expected = json.loads((FIXTURES / "expected" / "pose_1.json").read_text())
    engine = MoveNet(model=MODEL, tracking=True)
    cap = cv2.VideoCapture(str(FIXTURES / "video" / "pose_1.mp4"))
    worst_px, index = 0.0, 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            pose = engine.process(Frame(index / 30.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index))
            assert pose is not None, f"frame {index}: nobody found"
            for k, name in enumerate(COCO_NAMES):
                if name in expected[index]:
                    want = expected[index][name]
                    got = pose.xy_px[COCO_JOINTS[k]]
                    worst_px = max(worst_px, abs(got[0] - want["x"]), abs(got[1] - want["y"]))
            index += 1
    finally:
        cap.release()
    assert index == len(expected)
    assert worst_px <= TFJS_TOLERANCE_PX
    # After the first frame the crop comes from the previous keypoints.
    assert engine.detector_runs < index // 2
