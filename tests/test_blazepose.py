"""BlazePose on real pictures and a real clip, against MediaPipe's and tfjs-models' goldens.

The engine, the squat clip and the tracked run over it are built once per module and
precision: the float models and the int8 ones (`hingewatch models quantize`, built here
once when absent, see tests/int8_models.py) are held to the same limits. The whole file
takes a few seconds once the int8 models exist.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.capture.frames import Frame
from edge.capture.sources import VideoSource, read_image
from edge.errors import ModelError
from edge.pose.blazepose import BlazePose, refine_from_heatmap
from edge.pose.landmarks import Joint, Pose
from edge.pose.models import VARIANTS, model_path
from edge.pose.roi import roi_from_alignment
from edge.pose.smoothing import OneEuroFilter, OneEuroSettings, PoseSmoother
from tests.int8_models import need_int8

pytestmark = pytest.mark.pose

# pose.jpg: MediaPipe pose_test.py's bounds (DIFF_THRESHOLD, IOU_THRESHOLD).
IMAGE_PX_TOL = 15.0
MASK_IOU_MIN = 0.85
# pose_squats.mp4. MediaPipe's pose_test.py holds its video to 15 px and 0.1 m, but against
# its own expected file. This fixture (tfjs-models' pose_squats.full.json) was made with
# other model weights: MediaPipe 0.10.14 itself misses it by 18.0 px and 0.160 m. Frame 0,
# before any tracking or smoothing, is already 8.8 px and 0.072 m off. With its input
# changed by one grey level, MediaPipe misses it by up to 25.1 px and 0.168 m, because
# frames 16-18 are a fork in the tracking loop that rounding alone decides. So the bound
# is tfjs-models' for a BlazePose re-implementation on this file (blazepose_tfjs_test.ts).
VIDEO_PX_TOL = 28.0
VIDEO_WORLD_M_TOL = 0.19
# Mean error over every landmark of every frame, which the fork hardly moves: faithful
# runs (MediaPipe and this engine, two runtimes, ±1 grey-level noise) give 2.51-2.58 px;
# an ROI from unfiltered auxiliary points gives ~3.0 px, no smoothing ~4.3 px.
VIDEO_MEAN_PX_TOL = 2.8
# Tracking: the detector runs on the first frame and when the person is lost.
MAX_DETECTOR_SHARE = 0.10
# MediaPipe's solution API stamps frames 1/30 s apart whatever the clip's real rate (5 fps
# here); the One Euro filters see only these times.
SIMULATED_FRAME_INTERVAL_S = 1.0 / 30.0


@pytest.fixture(scope="module", params=["float", "int8"])
def engine(request: pytest.FixtureRequest) -> BlazePose:
    """One tracking engine per precision; tests that need it otherwise say so and restore it."""
    try:
        for name in VARIANTS["full"]:
            model_path(name)
    except ModelError as exc:
        pytest.fail(f"BlazePose models missing; run `hingewatch models fetch` ({exc})")
    if request.param == "int8":
        need_int8("full")
    return BlazePose(variant="full", tracking=True, precision=request.param)


# --- pose.jpg, one still -------------------------------------------------------------------

# MediaPipe 0.10.14's own output on pose.jpg (`Pose(static_image_mode=True,
# model_complexity=1)`, px, rounded to 0.1), taken from its wheel to hold this engine to it.
MEDIAPIPE_0_10_14_POSE_JPG_PX = [
    (463.3, 286.6), (469.1, 276.7), (471.9, 276.1), (475.0, 275.5), (465.2, 277.0),
    (464.8, 276.8), (464.3, 276.4), (492.1, 277.5), (474.3, 278.0), (470.1, 294.5),
    (464.4, 294.6), (544.7, 321.4), (449.7, 325.0), (623.1, 322.7), (373.0, 315.4),
    (695.4, 315.2), (302.0, 308.4), (717.4, 313.1), (280.1, 307.4), (718.8, 311.1),
    (278.4, 305.1), (709.4, 312.4), (286.1, 306.4), (522.1, 471.9), (464.5, 465.9),
    (612.0, 550.0), (356.7, 491.8), (701.2, 616.1), (351.4, 607.1), (709.7, 626.2),
    (364.4, 627.2), (732.7, 633.6), (310.0, 632.5),
]
# Measured 0.04 px with OpenCV 4.10, whose crops are bit-identical to MediaPipe's, and
# 1.7 px with OpenCV 5, whose warps round differently. A half-pixel slip in the crop
# costs 6-8 px.
MEDIAPIPE_PARITY_PX_TOL = 2.5


@pytest.fixture(scope="module")
def still_pose(fixtures: Path, engine: BlazePose) -> Pose:
    """pose.jpg with tracking off, as MediaPipe's static-image mode."""
    rgb = read_image(fixtures / "images" / "pose.jpg")
    engine.reset()
    engine.tracking = False
    try:
        pose = engine.process(Frame(0.0, rgb, 0))
    finally:
        engine.tracking = True
        engine.reset()
    assert pose is not None, "nobody found in pose.jpg"
    return pose


def _worst_joint(err: np.ndarray) -> str:
    joint, axis = np.unravel_index(int(err.argmax()), err.shape)
    return f"{Joint(int(joint)).name} {'xy'[axis]}: {err[joint, axis]:.1f} px"


def test_pose_jpg_landmarks(fixtures: Path, still_pose: Pose) -> None:
    expected_file = fixtures / "expected" / "expected_pose_jpg_blazepose.json"
    expected_px = np.asarray(json.loads(expected_file.read_text())["landmarks_px_xy_33"], float)
    err = np.abs(still_pose.xy_px - expected_px)
    assert err.max() < IMAGE_PX_TOL, f"worst {_worst_joint(err)} (tolerance {IMAGE_PX_TOL})"


def test_pose_jpg_matches_mediapipe_0_10_14(engine: BlazePose, still_pose: Pose) -> None:
    if engine.precision != "float":
        pytest.skip("parity is the float models' (same weights as MediaPipe); the int8 ones "
                    "are held to MediaPipe's accuracy limits above and below instead")
    err = np.abs(still_pose.xy_px - np.asarray(MEDIAPIPE_0_10_14_POSE_JPG_PX))
    assert err.max() < MEDIAPIPE_PARITY_PX_TOL, (
        f"worst {_worst_joint(err)} (tolerance {MEDIAPIPE_PARITY_PX_TOL})"
    )


def test_pose_jpg_mask(fixtures: Path, still_pose: Pose) -> None:
    mask = still_pose.mask_in_frame()
    assert mask is not None
    # The golden mask is white on black in its first channel as OpenCV reads it (BGR).
    golden = cv2.imread(str(fixtures / "images" / "pose_segmentation.png"))
    assert golden is not None, "pose_segmentation.png is unreadable"
    truth = golden[:, :, 0] > 127
    ours = mask > 0.5
    iou = (ours & truth).sum() / max(int((ours | truth).sum()), 1)
    assert iou >= MASK_IOU_MIN, f"mask IoU {iou:.3f} < {MASK_IOU_MIN}"


# --- pose_squats.mp4, tracked and smoothed --------------------------------------------------


@dataclass(frozen=True)
class SquatRun:
    xy_px: np.ndarray  # (frames, 33, 2)
    world_m: np.ndarray  # (frames, 33, 3)
    expected_px: np.ndarray
    expected_world_m: np.ndarray
    frames: int
    detector_runs: int


@pytest.fixture(scope="module")
def squat_run(fixtures: Path, engine: BlazePose) -> SquatRun:
    """The clip decoded once, run once through tracking + `PoseSmoother`."""
    expected = fixtures / "expected"
    expected_px = np.asarray(json.loads((expected / "pose_squats.full.json").read_text()))
    expected_world = np.asarray(json.loads((expected / "pose_squats_3d.full.json").read_text()))
    with VideoSource(fixtures / "video" / "pose_squats.mp4") as source:
        rgbs = [frame.rgb for frame in source]
    assert len(rgbs) == len(expected_px), (
        f"decoded {len(rgbs)} frames, the golden has {len(expected_px)}"
    )

    engine.reset()
    frames_before, runs_before = engine.frames, engine.detector_runs
    smoother = PoseSmoother()
    xy, world = [], []
    for i, rgb in enumerate(rgbs):
        pose = smoother.smooth(engine.process(Frame(i * SIMULATED_FRAME_INTERVAL_S, rgb, i)))
        assert pose is not None and pose.world_m is not None, f"frame {i}: person lost"
        xy.append(pose.xy_px)
        world.append(pose.world_m)
    engine.reset()
    return SquatRun(
        xy_px=np.asarray(xy),
        world_m=np.asarray(world),
        expected_px=expected_px[:, :, :2],
        expected_world_m=expected_world[:, :, :3],
        frames=engine.frames - frames_before,
        detector_runs=engine.detector_runs - runs_before,
    )


def _worst(err: np.ndarray, unit: str) -> str:
    """Where the largest error of a (frames, joints, axes) array is, in words."""
    frame, joint, axis = np.unravel_index(int(err.argmax()), err.shape)
    return (f"frame {frame}, {Joint(int(joint)).name} {'xyz'[axis]}: "
            f"{err[frame, joint, axis]:.3g} {unit}")


def test_squats_image_landmarks(squat_run: SquatRun) -> None:
    err = np.abs(squat_run.xy_px - squat_run.expected_px)
    assert err.max() < VIDEO_PX_TOL, f"worst at {_worst(err, 'px')} (tolerance {VIDEO_PX_TOL})"
    assert err.mean() < VIDEO_MEAN_PX_TOL, (
        f"mean error {err.mean():.2f} px > {VIDEO_MEAN_PX_TOL} px; worst at {_worst(err, 'px')}"
    )


def test_squats_world_landmarks(squat_run: SquatRun) -> None:
    err = np.abs(squat_run.world_m - squat_run.expected_world_m)
    assert err.max() < VIDEO_WORLD_M_TOL, (
        f"worst at {_worst(err, 'm')} (tolerance {VIDEO_WORLD_M_TOL} m)"
    )


def test_squats_detector_runs_rarely(squat_run: SquatRun) -> None:
    share = squat_run.detector_runs / squat_run.frames
    assert share <= MAX_DETECTOR_SHARE, (
        f"detector ran on {squat_run.detector_runs} of {squat_run.frames} frames"
    )


def test_blank_frame_has_nobody(engine: BlazePose) -> None:
    engine.reset()
    assert engine.process(Frame(0.0, np.full((480, 640, 3), 128, np.uint8), 0)) is None
    engine.reset()


# --- pure functions -------------------------------------------------------------------------

HM = 64  # heatmap side, as the landmark model's


def _heatmap(peaks: list[tuple[int, int]], n: int = 1) -> np.ndarray:
    """Logits: certain (+20) at each (col, row) peak of channel 0, certainly not elsewhere."""
    hm = np.full((HM, HM, n), -20.0, np.float32)
    for col, row in peaks:
        hm[row, col, 0] = 20.0
    return hm


@pytest.mark.parametrize(
    ("start_cells", "peaks", "kwargs", "expected_cells", "error"),
    [
        pytest.param((38.5, 21.2), [(40, 20)], {}, (40.0, 20.0), None, id="to a nearby peak"),
        pytest.param((10.2, 50.7), [(9, 50), (11, 50)], {}, (10.0, 50.0), None,
                     id="to the middle of two peaks"),
        pytest.param((20.5, 20.5), [(30, 20)], {}, (20.5, 20.5), None,
                     id="peak outside the 9x9 window: stays"),
        pytest.param((20.5, 20.5), [(23, 20)], {"kernel": 5}, (20.5, 20.5), None,
                     id="peak outside a 5x5 window: stays"),
        pytest.param((-3.0, 20.5), [(0, 20)], {}, (-3.0, 20.5), None, id="left of the crop"),
        pytest.param((30.5, 64.5), [(30, 63)], {}, (30.0, 63.0), None,
                     id="just below the crop: refined from the rows left, as MediaPipe"),
        pytest.param((20.5, 20.5), [(20, 20)], {"min_confidence": 1.1}, (20.5, 20.5), None,
                     id="not confident enough: stays"),
        pytest.param((20.5, 20.5), [(20, 20)], {"kernel": 4}, None, "odd size",
                     id="even kernel rejected"),
    ],
)
def test_refine_from_heatmap(
    start_cells: tuple[float, float],
    peaks: list[tuple[int, int]],
    kwargs: dict[str, Any],
    expected_cells: tuple[float, float] | None,
    error: str | None,
) -> None:
    start = np.array([start_cells]) / HM
    if error:
        with pytest.raises(ValueError, match=error):
            refine_from_heatmap(start, _heatmap(peaks), **kwargs)
        return
    assert expected_cells is not None
    out = refine_from_heatmap(start, _heatmap(peaks), **kwargs)
    np.testing.assert_allclose(out[0] * HM, expected_cells, atol=1e-5)


def _refined_one_by_one(xy01: np.ndarray, heatmap: np.ndarray, kernel: int,
                        min_confidence: float) -> np.ndarray:
    """The refinement written out landmark by landmark, cell by cell, as MediaPipe's
    calculator loops: the reference the vectorised one is held to."""
    h, w, _ = heatmap.shape
    out = xy01.astype(np.float64, copy=True)
    half = (kernel - 1) // 2
    for i, (x, y) in enumerate(xy01):
        col, row = int(x * w), int(y * h)
        if col < 0 or col >= w or row < 0:
            continue
        total = sum_c = sum_r = peak = 0.0
        for r in range(max(0, row - half), min(h, row + half + 1)):
            for c in range(max(0, col - half), min(w, col + half + 1)):
                conf = 1.0 / (1.0 + math.exp(-float(heatmap[r, c, i])))
                total, sum_c, sum_r = total + conf, sum_c + conf * c, sum_r + conf * r
                peak = max(peak, conf)
        if peak >= min_confidence and total > 0:
            out[i] = (sum_c / total / w, sum_r / total / h)
    return out


@pytest.mark.parametrize("kernel", [1, 3, 9])
def test_refine_from_heatmap_matches_the_loop_it_vectorises(kernel: int) -> None:
    rng = np.random.default_rng(kernel)
    for case in range(20):
        heatmap = (rng.standard_normal((HM, HM, 12)) * 4.0 - 1.0).astype(np.float32)
        # Half the cases keep every window on the heatmap, half reach past its edges.
        low, high = (0.1, 0.9) if case % 2 else (-0.1, 1.1)
        xy01 = rng.uniform(low, high, (12, 2))
        np.testing.assert_allclose(
            refine_from_heatmap(xy01, heatmap, kernel=kernel),
            _refined_one_by_one(xy01, heatmap, kernel, 0.5), rtol=0, atol=1e-12)


def test_refine_from_heatmap_wants_one_channel_per_landmark() -> None:
    with pytest.raises(ValueError, match="expected 2 channels"):
        refine_from_heatmap(np.full((2, 2), 0.5), _heatmap([(32, 32)], n=3))


@pytest.mark.parametrize(
    ("scale_point_px", "rotation_deg"),
    [
        pytest.param((100.0, 50.0), 0.0, id="up: upright"),
        pytest.param((150.0, 100.0), 90.0, id="right"),
        pytest.param((50.0, 100.0), -90.0, id="left"),
    ],
)
def test_roi_from_alignment(scale_point_px: tuple[float, float], rotation_deg: float) -> None:
    roi = roi_from_alignment(np.array([100.0, 100.0]), np.array(scale_point_px))
    assert math.degrees(roi.rotation_rad) == pytest.approx(rotation_deg, abs=1e-9)
    assert roi.center_px == (100.0, 100.0)
    assert roi.size_px == pytest.approx(2 * 50.0 * 1.25)  # twice the vector, widened 1.25×


def test_one_euro_passes_a_constant_through() -> None:
    f = OneEuroFilter(OneEuroSettings(min_cutoff_hz=0.05, beta=80.0))
    value = np.array([[320.0, 240.0, -12.5], [1.0, 2.0, 3.0]])
    for i in range(20):
        np.testing.assert_allclose(f(i / 30, value, 1 / 200), value, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (OneEuroSettings(min_cutoff_hz=0.0, beta=1.0), "min_cutoff_hz"),
        (OneEuroSettings(min_cutoff_hz=-1.0, beta=1.0), "min_cutoff_hz"),
        (OneEuroSettings(min_cutoff_hz=math.nan, beta=1.0), "min_cutoff_hz"),
        (OneEuroSettings(min_cutoff_hz=1.0, beta=-0.1), "beta"),
        (OneEuroSettings(min_cutoff_hz=1.0, beta=math.inf), "beta"),
        (OneEuroSettings(min_cutoff_hz=1.0, beta=1.0, derivative_cutoff_hz=0.0),
         "derivative_cutoff_hz"),
    ],
)
def test_one_euro_rejects_bad_settings(settings: OneEuroSettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OneEuroFilter(settings)
