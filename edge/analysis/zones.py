"""Activity zones: polygons in normalised image coordinates, and which one holds a point."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edge.pose.landmarks import Joint, Pose

UNKNOWN_ACTIVITY = "unknown"
# Sitting down or leaning while seated, wherever the chair stands.
CHAIR_ACTIVITY = "chair"
# What the bend event accepts as an activity; checked whole (fullmatch), so a trailing
# newline cannot slip through as it would past a `$`.
ACTIVITY_PATTERN = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Zone:
    """A named area of the picture; `polygon_norm` is (n, 2) x, y in [0, 1]."""

    name: str
    activity: str
    polygon_norm: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not ACTIVITY_PATTERN.fullmatch(self.activity):
            raise ValueError(f"zone {self.name}: activity: expected 1-32 of a-z, 0-9, '_' "
                             f"or '-', got {self.activity!r}")
        if not self.name or len(self.name) > 64:
            raise ValueError(f"zone {self.name!r}: name: expected 1-64 characters")
        if len(self.polygon_norm) < 3:
            raise ValueError(f"zone {self.name}: a polygon needs 3 or more points")
        for x, y in self.polygon_norm:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"zone {self.name}: point {(x, y)} is outside 0..1")

    @property
    def centre_norm(self) -> np.ndarray:
        return np.asarray(self.polygon_norm).mean(axis=0)

    def contains(self, xy_norm: np.ndarray) -> np.ndarray:
        """Boolean per point (even–odd ray casting)."""
        pts = np.atleast_2d(xy_norm)
        poly = np.asarray(self.polygon_norm)
        x, y = pts[:, 0:1], pts[:, 1:2]
        x0, y0 = poly[:, 0], poly[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        crosses = ((y0 > y) != (y1 > y)) & (
            x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0
        )
        return np.asarray(crosses.sum(axis=1) % 2 == 1)


# No zones unless configured: every home and camera differs, and a bend named after a zone
# the user never drew ("activity crib" for every squat) is worse than `unknown`.
DEFAULT_ZONES: tuple[Zone, ...] = ()


def zone_at(pose: Pose, zones: tuple[Zone, ...]) -> Zone | None:
    """The zone holding the wrists (both, else either), else the hips; None if none does.

    Where zones overlap, the one whose centre is nearest the points wins.
    """
    wrists = pose.xy_norm[[Joint.LEFT_WRIST, Joint.RIGHT_WRIST]]
    seen = pose.visibility[[Joint.LEFT_WRIST, Joint.RIGHT_WRIST]] >= 0.5
    hips = pose.xy_norm[[Joint.LEFT_HIP, Joint.RIGHT_HIP]].mean(axis=0)
    for points in (wrists[seen] if seen.any() else np.empty((0, 2)), hips[None, :]):
        if len(points) == 0:
            continue
        for need_all in (True, False):
            holding = [z for z in zones
                       if (z.contains(points).all() if need_all else z.contains(points).any())]
            if holding:
                centre = points.mean(axis=0)
                return min(holding, key=lambda z: float(np.linalg.norm(z.centre_norm - centre)))
    return None
