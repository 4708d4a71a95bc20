"""The contact sheet: each bend's deepest frame with skeleton, back line and verdict."""

from __future__ import annotations

import cv2
import numpy as np

from edge.analysis.bends import Sample
from edge.analysis.classifier import Verdict
from edge.pose.draw import draw_pose
from edge.pose.landmarks import Pose
from edge.pose.roi import apply_affine

POSTURE_RGB = {"hinge": (60, 200, 90), "squat": (70, 150, 255), "round": (240, 80, 60),
               "stand": (200, 200, 200), "unsure": (160, 160, 160)}


def mask_picture(pose: Pose) -> np.ndarray:
    """What the model saw of a recorded pose, which keeps no pixels: its person mask put back
    on the frame, light on dark (a plain dark frame when the pose has no mask)."""
    w, h = pose.resolution_wh
    if pose.segmentation is None:
        return np.full((h, w, 3), 40, np.uint8)
    light = np.clip(40.0 + 170.0 * pose.segmentation.in_frame((w, h)), 0, 255).astype(np.uint8)
    return np.repeat(light[:, :, None], 3, axis=2)


def annotate(
    rgb: np.ndarray, sample: Sample | None, verdict: Verdict | None, title: str
) -> np.ndarray:
    """The frame with the skeleton, the dorsal outline and a caption band under it."""
    out = draw_pose(rgb, sample.pose if sample else None)
    h, w = out.shape[:2]
    colour = POSTURE_RGB.get(verdict.posture if verdict else "stand", (200, 200, 200))
    if sample is not None and sample.back is not None and sample.pose.segmentation is not None:
        pts = apply_affine(sample.pose.segmentation.crop_to_frame, sample.back.contour_px)
        cv2.polylines(out, [np.round(pts).astype(np.int32)], False, colour,
                      max(3, round(min(w, h) / 150)), cv2.LINE_AA)
    # The caption scales with the width: the sheet shrinks every tile to one width.
    scale = w / 620.0
    band_h = int(70 * scale)
    band = np.full((band_h, w, 3), 24, np.uint8)
    if verdict is None:
        lines = [title, "nobody found"]
    else:
        k = verdict.peak
        bulge = "-" if verdict.back_bulge_norm is None else f"{verdict.back_bulge_norm:.3f}"
        tuck = verdict.back.hip_tuck_norm
        hips = "" if tuck is None else f"  hips {tuck:+.3f}"
        lines = [
            f"{title}  {verdict.posture.upper()}  {verdict.confidence:.0%}  view {verdict.view}",
            f"trunk {k.trunk_inclination_deg:.0f}  hip {k.hip_flexion_deg:.0f}  knee "
            f"{k.knee_flexion_deg:.0f}  bulge {bulge}{hips}  {' '.join(verdict.reasons)}",
        ]
    for i, text in enumerate(lines):
        cv2.putText(band, text, (8, int((i + 1) * 28 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.6 * scale, colour if i == 0 else (230, 230, 230), max(1, round(scale)),
                    cv2.LINE_AA)
    return np.vstack([out, band])
