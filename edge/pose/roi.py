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

    def crop(self, rgb: np.ndarray, crop_size: int, border: int,
             stage: np.ndarray | None = None, out: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """The (crop_size, crop_size, 3) uint8 crop and its crop→frame affine; `out`, an
        array of that shape to write it into (the model's own input buffer).

        `stage`, a scratch array shaped like `rgb`: the part of the frame the crop reads is
        copied into it first and the crop is taken from there. The result is the same; it
        is faster because a rotated ROI makes warpAffine walk the frame across its rows, in
        an order the CPU's prefetcher does not follow, while the copy streams (measured
        here: 1.19 → 0.59 ms on 720×1280 frames, 0.51 → 0.23 ms on 640×480, never slower
        unrotated). Only the rows and columns the crop reads are copied: a person in a
        kitchen fills a column of the frame (on the walking clip the crop reads 46 % of the
        width, 58 % of the height).
        """
        affine = self.crop_to_frame(crop_size)
        if stage is not None:
            rows, cols = region_read(affine, crop_size, rgb.shape[0], rgb.shape[1])
            stage[rows, cols] = rgb[rows, cols]
            rgb = stage
        patch = cv2.warpAffine(
            rgb,
            affine,
            (crop_size, crop_size),
            dst=out,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=border,
            borderValue=(0, 0, 0),
        )
        if out is not None and patch is not out:  # OpenCV would not write into it
            raise ValueError(f"out: expected a writable {(crop_size, crop_size, 3)} uint8 "
                             f"array, got {out.shape} {out.dtype}")
        return patch, affine


def region_read(affine: np.ndarray, crop_size: int, height: int, width: int
                ) -> tuple[slice, slice]:
    """The frame rows and columns a crop through `affine` (crop → frame) can read.

    The crop's corners bound its samples; bilinear reads the next row and column too, and a
    border row or column stands in for those beyond the frame (BORDER_REPLICATE), so two
    of margin each way.
    """
    # The corners' box in plain floats: four points are cheaper without numpy, and this runs
    # on every frame.
    (a, b, tx), (c, d, ty) = affine.tolist()
    a, b, c, d = a * crop_size, b * crop_size, c * crop_size, d * crop_size
    left, right = tx + min(a, 0.0) + min(b, 0.0), tx + max(a, 0.0) + max(b, 0.0)
    top, bottom = ty + min(c, 0.0) + min(d, 0.0), ty + max(c, 0.0) + max(d, 0.0)
    return _span(top, bottom, height), _span(left, right, width)


def _span(low: float, high: float, size: int) -> slice:
    """Indices [floor(low) − 2, ceil(high) + 3) within [0, size), at least one of them."""
    start = min(max(0, math.floor(low) - 2), size - 1)
    stop = min(size, math.ceil(high) + 3)
    return slice(start, max(stop, start + 1))


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
