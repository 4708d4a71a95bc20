"""Pictures of synthetic poses, for eyeballing and for sheets (never for the pipeline)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edge.pose.draw import contact_sheet, draw_pose
from edge.pose.landmarks import Pose

BACKGROUND_RGB = (40, 44, 52)


def render_frame(pose: Pose | None, resolution_wh: tuple[int, int] = (640, 480),
                 caption: str | None = None, zoom: bool = False) -> np.ndarray:
    """An RGB picture of the pose: its mask as a grey silhouette, the skeleton on top,
    the crop's outline, and an optional caption. A missing pose gives an empty frame.
    `zoom` cuts the picture down to a square around the person."""
    wh = pose.resolution_wh if pose is not None else resolution_wh
    w, h = wh
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = BACKGROUND_RGB
    if pose is not None:
        mask = pose.mask_in_frame()
        if mask is not None:
            shade = (mask[..., None] * np.array([150.0, 150.0, 160.0])).astype(np.uint8)
            rgb = np.maximum(rgb, shade)
            a = pose.segmentation.crop_to_frame if pose.segmentation is not None else None
            if a is not None:
                c = np.array([[0, 0], [256, 0], [256, 256], [0, 256]], np.float64)
                corners = np.round(c @ a[:, :2].T + a[:, 2]).astype(np.int32)
                cv2.polylines(rgb, [corners], True, (90, 90, 110), 1, cv2.LINE_AA)
        rgb = draw_pose(rgb, pose)
        if zoom:
            rgb = _zoom(rgb, pose)
            h, w = rgb.shape[:2]
    if caption:
        scale = max(0.5, w / 900)
        cv2.putText(rgb, caption, (10, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    return rgb


def _zoom(rgb: np.ndarray, pose: Pose) -> np.ndarray:
    xy = pose.xy_px
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    side = float(max(hi - lo)) * 1.3 + 20
    cx, cy = (lo + hi) / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = int(round(side))
    h, w = rgb.shape[:2]
    out = np.empty((s, s, 3), np.uint8)
    out[:] = BACKGROUND_RGB
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + s, w), min(y0 + s, h)
    if xb > xa and yb > ya:
        out[ya - y0 : yb - y0, xa - x0 : xb - x0] = rgb[ya:yb, xa:xb]
    return cv2.resize(out, (480, 480), interpolation=cv2.INTER_AREA)


def sheet(poses: Sequence[Pose | None], captions: Sequence[str] | None = None,
          columns: int = 3, tile_width: int = 420, zoom: bool = True) -> np.ndarray:
    """Several rendered poses side by side, each zoomed onto the person by default."""
    caps = list(captions) if captions is not None else [None] * len(poses)
    tiles = [render_frame(p, caption=c, zoom=zoom) for p, c in zip(poses, caps, strict=True)]
    return contact_sheet(tiles, columns=columns, tile_width=tile_width)
