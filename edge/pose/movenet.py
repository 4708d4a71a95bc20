"""MoveNet SinglePose Lightning (int8) as a `PoseEngine`: 17 keypoints on a tracked crop.

MoveNet has no person detector. Its stand-in, as in the TensorFlow Lite pose-estimation
examples, is the "init crop region": the whole frame padded to a square. After a frame
with a confident torso the next crop is a square around the hips sized from the previous
keypoints; `detector_runs` counts the frames that fell back to the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.capture.frames import Frame
from edge.pose.landmarks import NUM_JOINTS, Joint, Pose
from edge.pose.models import load_manifest, model_path, verify
from edge.pose.runtime import RuntimeName, load_interpreter

MODEL_NAME = "movenet_lightning_int8"
INPUT_SIZE = 192
NUM_KEYPOINTS = 17
# Below this presence (mean score of the 17 keypoints) the frame has no person: `process`
# returns None and tracking restarts on the whole frame. Raising it drops partly
# visible or small people sooner.
MIN_PRESENCE = 0.2
# A keypoint scoring below this does not shape the next crop, and a torso needs one hip
# and one shoulder above it. Raising it makes the crop fall back to the whole frame more.
MIN_CROP_KEYPOINT_SCORE = 0.2
# The crop's half-size over the hip-centre→farthest-torso-joint distance; raising it
# leaves more room around a person whose limbs were missed.
TORSO_EXPANSION_RATIO = 1.9
# The crop's half-size over the hip-centre→farthest-confident-keypoint distance; raising
# it leaves more margin for a limb moving out of the crop between frames.
BODY_EXPANSION_RATIO = 1.2

# MoveNet's COCO order, as the shared joints they are.
COCO_JOINTS: tuple[Joint, ...] = (
    Joint.NOSE, Joint.LEFT_EYE, Joint.RIGHT_EYE, Joint.LEFT_EAR, Joint.RIGHT_EAR,
    Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER, Joint.LEFT_ELBOW, Joint.RIGHT_ELBOW,
    Joint.LEFT_WRIST, Joint.RIGHT_WRIST, Joint.LEFT_HIP, Joint.RIGHT_HIP,
    Joint.LEFT_KNEE, Joint.RIGHT_KNEE, Joint.LEFT_ANKLE, Joint.RIGHT_ANKLE,
)
# Joints MoveNet lacks take a neighbour's position with visibility 0, so code that
# checks visibility ignores them while drawing code still has a finite point.
BORROWED: dict[Joint, Joint] = {
    Joint.LEFT_EYE_INNER: Joint.LEFT_EYE, Joint.LEFT_EYE_OUTER: Joint.LEFT_EYE,
    Joint.RIGHT_EYE_INNER: Joint.RIGHT_EYE, Joint.RIGHT_EYE_OUTER: Joint.RIGHT_EYE,
    Joint.MOUTH_LEFT: Joint.NOSE, Joint.MOUTH_RIGHT: Joint.NOSE,
    Joint.LEFT_PINKY: Joint.LEFT_WRIST, Joint.RIGHT_PINKY: Joint.RIGHT_WRIST,
    Joint.LEFT_INDEX: Joint.LEFT_WRIST, Joint.RIGHT_INDEX: Joint.RIGHT_WRIST,
    Joint.LEFT_THUMB: Joint.LEFT_WRIST, Joint.RIGHT_THUMB: Joint.RIGHT_WRIST,
    Joint.LEFT_HEEL: Joint.LEFT_ANKLE, Joint.RIGHT_HEEL: Joint.RIGHT_ANKLE,
    Joint.LEFT_FOOT_INDEX: Joint.LEFT_ANKLE, Joint.RIGHT_FOOT_INDEX: Joint.RIGHT_ANKLE,
}
_TORSO = (5, 6, 11, 12)  # COCO shoulders and hips
_HIPS = (11, 12)


@dataclass(frozen=True)
class CropRegion:
    """A square in frame pixels (it may reach past the frame; outside is black)."""

    x_min_px: float
    y_min_px: float
    size_px: float

    @classmethod
    def whole_frame(cls, resolution_wh: tuple[int, int]) -> CropRegion:
        """The frame padded to a square on its short side, centred."""
        w, h = resolution_wh
        side = float(max(w, h))
        return cls((w - side) / 2.0, (h - side) / 2.0, side)

    def to_input(self) -> np.ndarray:
        """The 2×3 affine taking frame pixel indices to model-input pixel indices."""
        s = INPUT_SIZE / self.size_px
        # Pixel centres line up as in cv2.resize: (x + 0.5) * s - 0.5.
        return np.array([[s, 0.0, (0.5 - self.x_min_px) * s - 0.5],
                         [0.0, s, (0.5 - self.y_min_px) * s - 0.5]])

    def crop(self, rgb: np.ndarray) -> np.ndarray:
        """The region resized to the model's 192×192 input, black outside the frame."""
        return cv2.warpAffine(rgb, self.to_input(), (INPUT_SIZE, INPUT_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=(0, 0, 0))


def next_crop_region(
    xy_px: np.ndarray, scores: np.ndarray, resolution_wh: tuple[int, int]
) -> CropRegion | None:
    """The square around the previous frame's person, or None for "use the whole frame".

    `xy_px` is (17, 2) in COCO order. None when the torso is not confident or the body
    already fills the frame.
    """
    w, h = resolution_wh
    confident = scores > MIN_CROP_KEYPOINT_SCORE
    if not (confident[list(_HIPS)].any() and confident[[5, 6]].any()):
        return None
    center = xy_px[list(_HIPS)].mean(axis=0)
    torso_range = np.abs(xy_px[list(_TORSO)] - center).max(axis=0)
    body = xy_px[scores >= MIN_CROP_KEYPOINT_SCORE]
    body_range = np.abs(body - center).max(axis=0) if len(body) else np.zeros(2)
    half = max(float(torso_range.max()) * TORSO_EXPANSION_RATIO,
               float(body_range.max()) * BODY_EXPANSION_RATIO)
    # Never larger than the farthest frame border from the hips.
    half = min(half, max(center[0], w - center[0], center[1], h - center[1]))
    if half > max(w, h) / 2.0 or half <= 0.0:
        return None
    return CropRegion(center[0] - half, center[1] - half, 2.0 * half)


class MoveNet:
    """The `PoseEngine` for MoveNet Lightning: `process(frame)` gives a `Pose` or None."""

    name = "movenet"

    def __init__(
        self,
        model: Path | None = None,
        num_threads: int = 2,
        runtime: RuntimeName = "auto",
        tracking: bool = True,
    ) -> None:
        if model is None:
            model = model_path(MODEL_NAME)
        else:
            verify(model, load_manifest()[MODEL_NAME])
        self.tracking = tracking
        self._interpreter = load_interpreter(model, num_threads, runtime)
        self._input_index = self._interpreter.get_input_details()[0]["index"]
        self._output_index = self._interpreter.get_output_details()[0]["index"]
        self._crop: CropRegion | None = None
        self.frames = 0
        # Frames run on the whole-frame crop: MoveNet's stand-in for a detector run.
        self.detector_runs = 0

    def reset(self) -> None:
        """Forget the tracked crop: the next frame runs on the whole frame."""
        self._crop = None

    def run_model(self, input_rgb: np.ndarray) -> np.ndarray:
        """The bare model on one 192×192 RGB uint8 image: (17, 3) of (y, x, score), in [0, 1]."""
        if input_rgb.shape != (INPUT_SIZE, INPUT_SIZE, 3) or input_rgb.dtype != np.uint8:
            raise ValueError(f"input_rgb: expected ({INPUT_SIZE}, {INPUT_SIZE}, 3) uint8, "
                             f"got {input_rgb.shape} {input_rgb.dtype}")
        it = self._interpreter
        it.set_tensor(self._input_index, np.ascontiguousarray(input_rgb)[None])
        it.invoke()
        out = it.get_tensor(self._output_index)
        return np.asarray(out, dtype=np.float64).reshape(NUM_KEYPOINTS, 3)

    def process(self, frame: Frame) -> Pose | None:
        self.frames += 1
        resolution_wh = frame.resolution_wh
        region = self._crop if self.tracking else None
        if region is None:
            self.detector_runs += 1
            region = CropRegion.whole_frame(resolution_wh)
        raw = self.run_model(region.crop(frame.rgb))
        xy_px = np.column_stack([raw[:, 1], raw[:, 0]]) * region.size_px
        xy_px += np.array([region.x_min_px, region.y_min_px])
        scores = raw[:, 2]
        presence = float(scores.mean())
        if presence < MIN_PRESENCE:
            self._crop = None
            return None
        self._crop = next_crop_region(xy_px, scores, resolution_wh)
        return self._pose(frame.t_s, resolution_wh, xy_px, scores, presence)

    @staticmethod
    def _pose(t_s: float, resolution_wh: tuple[int, int], xy_px: np.ndarray,
              scores: np.ndarray, presence: float) -> Pose:
        xy_norm = np.zeros((NUM_JOINTS, 2))
        visibility = np.zeros(NUM_JOINTS)
        coco = [int(j) for j in COCO_JOINTS]
        xy_norm[coco] = xy_px / np.asarray(resolution_wh, dtype=np.float64)
        visibility[coco] = scores
        for joint, source in BORROWED.items():
            xy_norm[joint] = xy_norm[source]
        return Pose(t_s=t_s, resolution_wh=resolution_wh, xy_norm=xy_norm,
                    visibility=visibility, presence=presence, engine="movenet-lightning")
