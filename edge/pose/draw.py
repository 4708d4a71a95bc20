"""Drawing a skeleton on a frame, for people to look at (never sent anywhere)."""

from __future__ import annotations

import cv2
import numpy as np

from edge.pose.landmarks import BONES, Pose

# Landmarks less visible than this are not drawn: they are guesses behind the body.
MIN_VISIBILITY_TO_DRAW = 0.5
LEFT_RGB = (255, 140, 0)
RIGHT_RGB = (0, 170, 255)
CENTRE_RGB = (240, 240, 240)


def _side_colour(a: int, b: int) -> tuple[int, int, int]:
    # BlazePose numbers left joints odd and right joints even from the shoulders down.
    if a >= 11 and b >= 11:
        if a % 2 == 1 and b % 2 == 1:
            return LEFT_RGB
        if a % 2 == 0 and b % 2 == 0:
            return RIGHT_RGB
    return CENTRE_RGB


def draw_pose(rgb: np.ndarray, pose: Pose | None, mask_alpha: float = 0.0) -> np.ndarray:
    """A copy of `rgb` with the skeleton (and optionally the person mask) drawn on it."""
    out = rgb.copy()
    if pose is None:
        return out
    h, w = out.shape[:2]
    thickness = max(2, round(min(w, h) / 240))
    if mask_alpha > 0:
        mask = pose.mask_in_frame()
        if mask is not None:
            tint = np.zeros_like(out)
            tint[..., 1] = 200
            weight = (mask > 0.5)[..., None] * mask_alpha
            out = (out * (1 - weight) + tint * weight).astype(np.uint8)
    pts = np.round(pose.xy_px).astype(int)
    seen = pose.visibility >= MIN_VISIBILITY_TO_DRAW
    for a, b in BONES:
        if seen[a] and seen[b]:
            cv2.line(out, tuple(pts[a]), tuple(pts[b]), _side_colour(a, b), thickness,
                     cv2.LINE_AA)
    for i, (x, y) in enumerate(pts):
        if seen[i]:
            cv2.circle(out, (int(x), int(y)), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return out


def contact_sheet(tiles: list[np.ndarray], columns: int = 3, tile_width: int = 400) -> np.ndarray:
    """Pictures side by side in a grid, each scaled to `tile_width`."""
    if not tiles:
        raise ValueError("contact_sheet: no pictures")
    scaled = []
    for t in tiles:
        h = round(t.shape[0] * tile_width / t.shape[1])
        scaled.append(cv2.resize(t, (tile_width, h), interpolation=cv2.INTER_AREA))
    cell_h = max(t.shape[0] for t in scaled)
    rows = (len(scaled) + columns - 1) // columns
    cols = min(columns, len(scaled))
    sheet = np.full((rows * cell_h, cols * tile_width, 3), 32, dtype=np.uint8)
    for i, t in enumerate(scaled):
        r, c = divmod(i, columns)
        sheet[r * cell_h : r * cell_h + t.shape[0], c * tile_width : (c + 1) * tile_width] = t
    return sheet


def write_rgb(path: str, rgb: np.ndarray) -> None:
    if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: could not write the picture (unknown suffix or folder?)")
