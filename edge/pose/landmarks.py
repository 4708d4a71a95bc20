"""The `Pose` value: one person's landmarks in one frame, in image, normalised and world units."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

NUM_JOINTS = 33


class Joint(IntEnum):
    """BlazePose's 33 body landmarks; MoveNet's 17 keypoints map onto a subset."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


# Bones drawn in overlays and sheets (pairs of joints).
BONES: tuple[tuple[Joint, Joint], ...] = (
    (Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER),
    (Joint.LEFT_HIP, Joint.RIGHT_HIP),
    (Joint.LEFT_SHOULDER, Joint.LEFT_HIP),
    (Joint.RIGHT_SHOULDER, Joint.RIGHT_HIP),
    (Joint.LEFT_SHOULDER, Joint.LEFT_ELBOW),
    (Joint.LEFT_ELBOW, Joint.LEFT_WRIST),
    (Joint.RIGHT_SHOULDER, Joint.RIGHT_ELBOW),
    (Joint.RIGHT_ELBOW, Joint.RIGHT_WRIST),
    (Joint.LEFT_HIP, Joint.LEFT_KNEE),
    (Joint.LEFT_KNEE, Joint.LEFT_ANKLE),
    (Joint.RIGHT_HIP, Joint.RIGHT_KNEE),
    (Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE),
    (Joint.LEFT_ANKLE, Joint.LEFT_HEEL),
    (Joint.LEFT_HEEL, Joint.LEFT_FOOT_INDEX),
    (Joint.RIGHT_ANKLE, Joint.RIGHT_HEEL),
    (Joint.RIGHT_HEEL, Joint.RIGHT_FOOT_INDEX),
    (Joint.LEFT_EAR, Joint.LEFT_EYE),
    (Joint.RIGHT_EAR, Joint.RIGHT_EYE),
    (Joint.LEFT_EYE, Joint.NOSE),
    (Joint.RIGHT_EYE, Joint.NOSE),
)


def _check_shape(name: str, value: np.ndarray, expected: tuple[int, ...]) -> None:
    if value.shape != expected:
        raise ValueError(f"{name}: expected shape {expected}, got {value.shape}")


class Segmentation:
    """The person mask as the landmark model saw it, and how to put it back on the frame.

    `mask` is the model's 256×256 probability map in its crop; `crop_to_frame` is the 2×3
    affine taking crop pixel indices to frame pixel indices. Made `from_logits` or
    `deferred`, the mask is the logits' sigmoid, worked out when first read: the analysis
    reads it only with the trunk forward, so upright frames (most of them) never pay for its
    65,536 exp() — nor, deferred, for the model's mask head that makes the logits.
    """

    __slots__ = ("_mask", "_logits_of", "crop_to_frame")

    def __init__(self, mask: np.ndarray, crop_to_frame: np.ndarray) -> None:
        if mask.ndim != 2:
            raise ValueError(f"mask: expected 2 dimensions, got shape {mask.shape}")
        _check_shape("crop_to_frame", crop_to_frame, (2, 3))
        self._mask: np.ndarray | None = mask
        self._logits_of: Callable[[], np.ndarray] | None = None
        self.crop_to_frame = crop_to_frame

    @classmethod
    def from_logits(cls, logits: np.ndarray, crop_to_frame: np.ndarray) -> Segmentation:
        """A mask of sigmoid(`logits`), kept as logits until read; `logits` must not change
        afterwards (the caller hands over its own copy)."""
        seg = cls(logits, crop_to_frame)
        return seg._defer(lambda: logits)

    @classmethod
    def deferred(cls, logits_of: Callable[[], np.ndarray],
                 crop_to_frame: np.ndarray) -> Segmentation:
        """A mask of sigmoid(`logits_of()`), called when the mask is first read; it must
        return the same 2-D logits each time (two threads may read at once)."""
        return cls(np.zeros((1, 1), np.float32), crop_to_frame)._defer(logits_of)

    def _defer(self, logits_of: Callable[[], np.ndarray]) -> Segmentation:
        self._mask, self._logits_of = None, logits_of
        return self

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            logits_of = self._logits_of
            if logits_of is None:  # another thread has just worked it out
                assert self._mask is not None
                return self._mask
            # A new array, the logits untouched: two threads reading at once get equal masks.
            mask = np.clip(logits_of(), -80.0, 80.0)
            np.negative(mask, out=mask)
            np.exp(mask, out=mask)
            mask += 1.0
            np.reciprocal(mask, out=mask)
            # Set before the source goes, and the source dropped: what it holds (the logits,
            # the mask head's features) is not kept beside the mask.
            self._mask = mask
            self._logits_of = None
        return self._mask

    def in_frame(self, resolution_wh: tuple[int, int]) -> np.ndarray:
        """The mask warped onto the frame: float32 probabilities, shape (height, width)."""
        import cv2

        w, h = resolution_wh
        return cv2.warpAffine(
            self.mask.astype(np.float32),
            self.crop_to_frame.astype(np.float64),
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )


@dataclass(frozen=True)
class Pose:
    """One person in one frame.

    - `xy_norm`: (33, 2) image landmarks, x and y over the frame's width and height;
    - `z_norm`: (33,) depth relative to the hips, in the same scale as x;
    - `visibility`: (33,) probability that each landmark is visible, 0..1;
    - `world_m`: (33, 3) hip-centred world landmarks in metres (y down), or None when the
      engine has none (MoveNet);
    - `presence`: the model's confidence that a person is there, 0..1.
    """

    t_s: float
    resolution_wh: tuple[int, int]
    xy_norm: np.ndarray
    visibility: np.ndarray
    presence: float
    z_norm: np.ndarray | None = None
    world_m: np.ndarray | None = None
    segmentation: Segmentation | None = field(default=None, repr=False)
    # BlazePose's two alignment points (hip centre, scale point), normalised: they set the
    # tracking ROI and the smoothing's object scale.
    aux_xy_norm: np.ndarray | None = None
    engine: str = "blazepose"

    def __post_init__(self) -> None:
        _check_shape("xy_norm", self.xy_norm, (NUM_JOINTS, 2))
        _check_shape("visibility", self.visibility, (NUM_JOINTS,))
        if self.z_norm is not None:
            _check_shape("z_norm", self.z_norm, (NUM_JOINTS,))
        if self.world_m is not None:
            _check_shape("world_m", self.world_m, (NUM_JOINTS, 3))
        if self.aux_xy_norm is not None:
            _check_shape("aux_xy_norm", self.aux_xy_norm, (2, 2))
        w, h = self.resolution_wh
        if w <= 0 or h <= 0:
            raise ValueError(f"resolution_wh: expected positive sizes, got {self.resolution_wh}")

    @property
    def xy_px(self) -> np.ndarray:
        """(33, 2) image landmarks in pixels."""
        return self.xy_norm * np.asarray(self.resolution_wh, dtype=np.float64)

    def mask_in_frame(self) -> np.ndarray | None:
        """The person mask on the frame, or None when the engine gives none."""
        if self.segmentation is None:
            return None
        return self.segmentation.in_frame(self.resolution_wh)
