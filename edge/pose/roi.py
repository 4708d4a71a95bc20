"""Regions of interest: the rotated square a model looks at, and the crop that feeds it.

MediaPipe's convention, kept here because a half-pixel slip costs 3–8 px of landmark
error: the ROI's corners, in the frame's pixel-index coordinates, map onto crop pixel
indices 0 and N (not N − 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Widening from the two alignment points' box to the crop: MediaPipe's RectTransformation
# scale for pose. Raising it gives the model more context and fewer pixels per limb.
ROI_SCALE = 1.25
# The alignment vector (hip centre → scale point) should point up in the crop: 90°.
TARGET_ANGLE_RAD = math.pi / 2


@dataclass(frozen=True)
class Roi:
    """A square region of the frame: centre and side in pixels, rotation in radians."""

    center_px: tuple[float, float]
    size_px: float
    rotation_rad: float = 0.0

    def crop_to_frame(self, crop_size: int) -> np.ndarray:
        """2×3 affine taking crop pixel indices (0..crop_size) to frame pixel indices."""
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        k = self.size_px / crop_size
        half = self.size_px / 2.0
        cx, cy = self.center_px
        return np.array(
            [
                [c * k, -s * k, cx - (c * half - s * half)],
                [s * k, c * k, cy - (s * half + c * half)],
            ],
            dtype=np.float64,
        )

    def crop(self, rgb: np.ndarray, crop_size: int, border: int) -> tuple[np.ndarray, np.ndarray]:
        """The (crop_size, crop_size, 3) uint8 crop and its crop→frame affine."""
        affine = self.crop_to_frame(crop_size)
        patch = cv2.warpAffine(
            rgb,
            affine,
            (crop_size, crop_size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=border,
            borderValue=(0, 0, 0),
        )
        return patch, affine


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_alignment(center_px: np.ndarray, scale_px: np.ndarray) -> Roi:
    """The pose ROI from the hip centre and the point that sets its scale and direction.

    Side = 2·|scale − centre|·ROI_SCALE; rotation turns the centre→scale vector upright.
    """
    dx, dy = float(scale_px[0] - center_px[0]), float(scale_px[1] - center_px[1])
    rotation = normalize_radians(TARGET_ANGLE_RAD - math.atan2(-dy, dx))
    size = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    return Roi((float(center_px[0]), float(center_px[1])), size, rotation)


def apply_affine(affine: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map (n, 2) points through a 2×3 affine."""
    return xy @ affine[:, :2].T + affine[:, 2]
