"""The back line: the dowel test read from the person's segmentation mask.

Pose models have no spine points. The mask does see the back's outline, so between hip
and shoulder level we trace the dorsal contour (the outline on the back's side of the
hip→shoulder chord) and measure how far its middle bulges out of the straight line
through its ends. A neutral spine keeps the outline nearly straight (lumbar lordosis and
thoracic kyphosis roughly cancel); a rounded back makes one convex arc. For an arc that
turns through θ, the bulge over the chord is (1 − cos θ/2) / (2 sin θ/2): about 0.044 for
20° of spread flexion and 0.088 for 40°.

Work happens in the model's own 256×256 crop (cheap, and the mask's native resolution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.pose.landmarks import Joint, Pose

# Stations along the chord (0 = hip, 1 = shoulder). The ends are skipped: the buttocks
# bulge out near the hip and the shoulder blades/neck near the top; narrowing this range
# ignores more of the back.
STATION_RANGE = (0.2, 0.85)
NUM_STATIONS = 14
# The mask counts as "person" at or above this probability.
MASK_THRESHOLD = 0.5
# The outline is searched at most this far from the chord (in chord lengths): a trunk is
# rarely more than half as thick as it is long; an arm or child beside it reaches farther.
MAX_DEPTH_CHORDS = 0.6
# A chord shorter than this many crop pixels is too small to read a few-pixel bulge from.
MIN_CHORD_PX = 30.0
# Stations whose outline is found, as a share of all: fewer means the outline is broken
# (something along the back, or the mask lost the trunk).
MIN_FOUND_SHARE = 0.7


@dataclass(frozen=True)
class BackLine:
    """The dorsal outline between hip and shoulder level, in crop pixels.

    `bulge_norm`: how far the outline's middle stands out of the line through its ends,
    over the chord length; positive = convex (rounded), negative = hollow.
    `turn_deg`: the angle between the outline's lower and upper halves (0 = straight).
    """

    bulge_norm: float
    turn_deg: float
    chord_px: float
    contour_px: np.ndarray  # (n, 2) outline points in crop pixels
    found_share: float


def _crop_points(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks in the crop's pixel indices (the inverse of crop_to_frame)."""
    assert pose.segmentation is not None
    a = pose.segmentation.crop_to_frame
    lin, off = a[:, :2], a[:, 2]
    xy = (pose.xy_px - off) @ np.linalg.inv(lin).T
    return xy, a


def ventral_direction(pose: Pose, xy: np.ndarray, hip: np.ndarray, chord: np.ndarray) -> float:
    """+1 or −1: which side of the chord the belly is on (where the thighs fold to).

    Returns 0 when the thighs lie along the chord (upright): the back has no clear side.
    """
    knees = (xy[Joint.LEFT_KNEE] + xy[Joint.RIGHT_KNEE]) / 2.0
    normal = np.array([-chord[1], chord[0]])
    side = float(np.dot(knees - hip, normal)) / (np.linalg.norm(knees - hip) + 1e-9)
    # |side| is the sine of the thigh's angle off the chord line: below ~10° it is noise.
    if abs(side) < 0.17:
        return 0.0
    return float(np.sign(side))


def back_line(pose: Pose) -> BackLine | None:
    """The dorsal outline, or None when the pose has no mask or the back has no side."""
    if pose.segmentation is None:
        return None
    mask = pose.segmentation.mask
    xy, _ = _crop_points(pose)
    hip = (xy[Joint.LEFT_HIP] + xy[Joint.RIGHT_HIP]) / 2.0
    shoulder = (xy[Joint.LEFT_SHOULDER] + xy[Joint.RIGHT_SHOULDER]) / 2.0
    chord = shoulder - hip
    length = float(np.linalg.norm(chord))
    if length < MIN_CHORD_PX:
        return None
    ventral = ventral_direction(pose, xy, hip, chord)
    if ventral == 0.0:
        return None
    unit = chord / length
    dorsal = -ventral * np.array([-unit[1], unit[0]])
    h, w = mask.shape
    steps = np.arange(0.0, MAX_DEPTH_CHORDS * length, 0.5)
    depths, points = [], []
    for t in np.linspace(*STATION_RANGE, NUM_STATIONS):
        base = hip + t * chord
        ray = base[None, :] + steps[:, None] * dorsal[None, :]
        cols = np.clip(np.round(ray[:, 0]).astype(int), 0, w - 1)
        rows = np.clip(np.round(ray[:, 1]).astype(int), 0, h - 1)
        inside = mask[rows, cols] >= MASK_THRESHOLD
        inside &= (ray[:, 0] >= 0) & (ray[:, 0] < w) & (ray[:, 1] >= 0) & (ray[:, 1] < h)
        if not inside[0]:
            depths.append(np.nan)  # the chord itself is outside the mask: no reading
            points.append(base)
            continue
        outside = np.flatnonzero(~inside)
        if outside.size == 0:
            depths.append(np.nan)  # no edge within reach: something lies along the back
            points.append(base)
            continue
        edge = float(steps[outside[0]])
        depths.append(edge)
        points.append(base + edge * dorsal)
    d = np.asarray(depths)
    found = np.isfinite(d)
    share = float(found.mean())
    if share < MIN_FOUND_SHARE or not found[0] or not found[-1]:
        return None
    ts = np.linspace(*STATION_RANGE, NUM_STATIONS)
    line = d[0] + (d[-1] - d[0]) * (ts - ts[0]) / (ts[-1] - ts[0])
    bulge = float(np.nanmax(d - line)) / length
    pts = np.asarray(points)[found]
    half = len(pts) // 2
    lower, upper = pts[half] - pts[0], pts[-1] - pts[half]
    cos_turn = np.dot(lower, upper) / (np.linalg.norm(lower) * np.linalg.norm(upper) + 1e-9)
    turn = float(np.degrees(np.arccos(np.clip(cos_turn, -1.0, 1.0))))
    return BackLine(bulge, turn, length, pts, share)
