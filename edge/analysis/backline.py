"""The back line: the dowel test read from the person's segmentation mask.

Pose models have no spine points. The mask does see the back's outline, so along the
hip→shoulder chord we trace the dorsal contour (the outline on the back's side of the
chord) and measure how it curves. A neutral spine keeps it nearly straight (lumbar
lordosis and thoracic kyphosis roughly cancel); a rounded back makes one convex arc.

The curve is read as a parabola fitted (least squares) to the outline's distance from the
chord over the stations between the buttocks and the shoulder girdle: its curvature, said
as the sagitta it gives over the whole chord, is the bulge. For an arc that turns through
θ the sagitta over the chord is (1 − cos θ/2) / (2 sin θ/2) ≈ θ/8 (θ in radians): 0.044
for 20° of spread flexion, 0.066 for 30°. A fit over a dozen stations keeps a one-pixel
wobble from reading as a curve (the trunk is 40–70 pixels long in the 256-pixel crop),
and a bump near one end (the far shoulder blade in an oblique view, the buttocks) bends a
parabola the other way, where a single "highest point over the chord" would count it.

Work happens in the model's own 256×256 crop (cheap, and the mask's native resolution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.pose.landmarks import Joint, Pose

# Stations along the chord (0 = hip, 1 = shoulder) where the outline is traced.
NUM_STATIONS = 20
# The parabola is fitted between these (share of chord): below, the buttocks bulge out;
# above, the shoulder girdle, the neck, hair and whatever sits on the shoulders.
FIT_RANGE = (0.1, 0.8)
# The mask counts as "person" at or above this probability.
MASK_THRESHOLD = 0.5
# The outline is searched at most this far from the chord (in chord lengths): a flat back's
# surface sits ~0.2 chords behind the joint line in profile; a fully rounded one (~120° of
# spread flexion) adds its arc's sagitta (~0.3) and shoulders rolled forward of the spine
# (~0.15), ~0.7 in all (rendered deep rounds read 0.6–0.8, and were unread at 0.55). Seen
# obliquely the trunk's width adds up to ~0.3 more (half the shoulder breadth × sin yaw).
# Farther is something else: an arm, a child beside the trunk.
MAX_DEPTH_CHORDS = 0.85
MAX_DEPTH_OBLIQUE_CHORDS = 0.35
# A chord shorter than this many crop pixels is too small to read a few-pixel bulge from.
MIN_CHORD_PX = 30.0
# Stations of the fit range whose outline is found, as a share: fewer means the outline is
# broken (something along the back, or the mask lost the trunk).
MIN_FOUND_SHARE = 0.75
# A spine curves smoothly: even a fully rounded back (~60° spread) turns its outline at most
# ~30° off the chord at its ends. A step steeper than this slope (outline depth over chord
# distance, ~50°) between neighbouring stations is an edge of something else (a backpack,
# a child, a bar, a hood): the back is hidden there. Lowering it hides more backs.
MAX_OUTLINE_SLOPE = 1.2
# A fit this far off the outline (RMS, chord lengths) is not one smooth curve either.
MAX_FIT_RMS = 0.03
# The upper back is read apart (a rounded thoracic spine with a straight lumbar spine leaves
# the lower outline flat and raises a hump above it): the hump is how far the outline of
# UPPER_RANGE stands out beyond the farthest point of LOWER_RANGE, in chord lengths.
LOWER_RANGE = (0.1, 0.45)
UPPER_RANGE = (0.5, 0.9)
# Wrists closer than this to the shoulders (chord lengths) hold something there (a child on
# the shoulder, a bar across it, gripped up to a shoulder's breadth out): the upper outline
# is theirs, not the spine's.
HANDS_AT_SHOULDERS_CHORDS = 0.6
# The pelvis's tilt, read at the hip end of the outline: how far the outline at the hips
# (stations up to HIP_END) stands out beyond the mid-back's farthest point (MID_BACK).
# A hinge tilts the pelvis forward with the spine: the buttocks stay out, level with the
# mid-back or beyond it. A rounded lift tucks the pelvis under: the outline at the hips
# falls in towards the joint line while the flexed spine stands out.
HIP_END = 0.1
MID_BACK = (0.3, 0.8)


@dataclass(frozen=True)
class BackLine:
    """The dorsal outline between hip and shoulder level, read from one frame's mask.

    - `bulge_norm`: the fitted parabola's sagitta over the chord, over the chord length;
      positive convex (rounded), negative hollow;
    - `peak_at`: where along the chord the parabola peaks (0 hip … 1 shoulder);
    - `hidden`: the outline has a step or a break no spine makes (something lies along
      the back, or the mask lost it): the bulge is not to be trusted;
    - `upper_hump_norm`: how far the upper outline stands out beyond the lower one (chord
      lengths; NaN when either part is unseen); `hands_at_shoulders`: the wrists are at the
      shoulders, or the upper outline has a step no spine makes, so whatever is there may
      be what the upper outline shows;
    - `hip_tuck_norm`: the outline at the hips minus the mid-back's farthest point (chord
      lengths; negative when the pelvis is tucked under, NaN when either is unseen);
    - `lower_tuck_norm`: the same against the lower back's farthest point (LOWER_RANGE),
      NaN unless the outline from the hips up to there is whole and without a step: it
      stays readable when something on the upper back (a pack, a child, a bar) hides the
      rest;
    - `depth_mean_norm`: the outline's mean distance from the chord over the fit range;
    - `depth_norm`: the outline's distance from the chord at each station (chord lengths,
      NaN where not found); `contour_px`: the found outline points in crop pixels.
    """

    bulge_norm: float
    peak_at: float
    hidden: bool
    upper_hump_norm: float
    hands_at_shoulders: bool
    hip_tuck_norm: float
    lower_tuck_norm: float
    depth_mean_norm: float
    chord_px: float
    found_share: float
    max_slope: float
    fit_rms: float
    depth_norm: np.ndarray
    contour_px: np.ndarray


def _crop_points(pose: Pose) -> np.ndarray:
    """Landmarks in the crop's pixel indices (the inverse of crop_to_frame)."""
    assert pose.segmentation is not None
    a = pose.segmentation.crop_to_frame
    lin, off = a[:, :2], a[:, 2]
    return (pose.xy_px - off) @ np.linalg.inv(lin).T


def ventral_direction(xy: np.ndarray, hip: np.ndarray, chord: np.ndarray) -> float:
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


def _steepest_step(depth: np.ndarray, ts: np.ndarray, where: np.ndarray) -> float:
    """The steepest slope of the outline (depth over chord distance) between neighbouring
    stations of `where`, 0 with none: across a gap the outline may turn legitimately."""
    seen = np.flatnonzero(where)
    adjacent = np.diff(seen) == 1
    if not adjacent.any():
        return 0.0
    return float((np.abs(np.diff(depth[seen])) / np.diff(ts[seen]))[adjacent].max())


def back_line(pose: Pose, yaw_deg: float = 0.0) -> BackLine | None:
    """The dorsal outline, or None when the pose has no mask or the back has no side.

    `yaw_deg` (0 side … 90 front) widens the search: seen obliquely the trunk is wider.
    """
    if pose.segmentation is None:
        return None
    xy = _crop_points(pose)
    hip = (xy[Joint.LEFT_HIP] + xy[Joint.RIGHT_HIP]) / 2.0
    shoulder = (xy[Joint.LEFT_SHOULDER] + xy[Joint.RIGHT_SHOULDER]) / 2.0
    chord = shoulder - hip
    length = float(np.linalg.norm(chord))
    if length < MIN_CHORD_PX:
        return None
    ventral = ventral_direction(xy, hip, chord)
    if ventral == 0.0:
        return None
    unit = chord / length
    dorsal = -ventral * np.array([-unit[1], unit[0]])
    reach = MAX_DEPTH_CHORDS + MAX_DEPTH_OBLIQUE_CHORDS * abs(math.sin(math.radians(yaw_deg)))
    # Read only now: reading it runs the model's mask head (edge/pose/split.py).
    mask = pose.segmentation.mask
    h, w = mask.shape
    steps = np.arange(0.0, reach * length, 0.5)
    ts = np.linspace(0.0, 1.0, NUM_STATIONS)
    bases = hip[None, :] + ts[:, None] * chord[None, :]
    rays = bases[:, None, :] + steps[None, :, None] * dorsal[None, None, :]  # station, step, xy
    cols = np.round(rays[..., 0]).astype(int)
    rows = np.round(rays[..., 1]).astype(int)
    in_crop = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
    inside = np.zeros(in_crop.shape, bool)
    inside[in_crop] = mask[rows[in_crop], cols[in_crop]] >= MASK_THRESHOLD
    # The first step outside the mask, for stations whose chord point is inside it; no
    # edge within reach (something lies along the back) or the chord itself outside the
    # mask gives no reading.
    first_out = np.argmax(~inside, axis=1)
    found = inside[:, 0] & (~inside).any(axis=1)
    depth = np.where(found, steps[first_out] / length, np.nan)
    fit = (ts >= FIT_RANGE[0]) & (ts <= FIT_RANGE[1])
    ok = fit & found
    share = float(ok.sum() / fit.sum())
    if ok.sum() < 5:
        return None
    c2, c1, c0 = np.polyfit(ts[ok], depth[ok], 2)
    rms = float(np.sqrt(np.mean((np.polyval((c2, c1, c0), ts[ok]) - depth[ok]) ** 2)))
    max_slope = _steepest_step(depth, ts, ok)
    peak_at = float(np.clip(-c1 / (2 * c2), 0.0, 1.0)) if abs(c2) > 1e-9 else 0.5
    hidden = share < MIN_FOUND_SHARE or max_slope > MAX_OUTLINE_SLOPE or rms > MAX_FIT_RMS
    lower = depth[(ts >= LOWER_RANGE[0]) & (ts <= LOWER_RANGE[1])]
    in_upper = (ts >= UPPER_RANGE[0]) & (ts <= UPPER_RANGE[1])
    upper = depth[in_upper]
    hump = (float(np.nanmax(upper) - np.nanmax(lower))
            if np.isfinite(lower).any() and np.isfinite(upper).any() else math.nan)
    # A step in the upper outline is an edge of something on the back (a backpack's top, a
    # child, a bar), never a spine's curve: the upper back is then as good as hidden.
    upper_step = _steepest_step(depth, ts, found & in_upper) > MAX_OUTLINE_SLOPE
    wrists = xy[[Joint.LEFT_WRIST, Joint.RIGHT_WRIST]]
    hands_up = upper_step or bool((np.linalg.norm(wrists - shoulder, axis=1) / length
                                   < HANDS_AT_SHOULDERS_CHORDS).any())
    hip_end = depth[ts <= HIP_END + 1e-9]
    mid_back = depth[(ts >= MID_BACK[0]) & (ts <= MID_BACK[1])]
    tuck = (float(np.nanmean(hip_end) - np.nanmax(mid_back))
            if np.isfinite(hip_end).any() and np.isfinite(mid_back).any() else math.nan)
    # The same tilt read below whatever rests on the upper back, where the outline from the
    # hips up is whole and has no step no spine makes.
    below = ts <= LOWER_RANGE[1] + 1e-9
    lower_clean = bool(found[below].all()) and _steepest_step(depth, ts, below) <= MAX_OUTLINE_SLOPE
    lower_tuck = float(np.mean(hip_end) - np.max(lower)) if lower_clean else math.nan
    points = bases + (np.nan_to_num(depth) * length)[:, None] * dorsal[None, :]
    return BackLine(
        bulge_norm=float(-c2 / 4.0),
        peak_at=peak_at,
        hidden=hidden,
        upper_hump_norm=hump,
        hands_at_shoulders=hands_up,
        hip_tuck_norm=tuck,
        lower_tuck_norm=lower_tuck,
        depth_mean_norm=float(np.mean(depth[ok])),
        chord_px=length,
        found_share=share,
        max_slope=max_slope,
        fit_rms=rms,
        depth_norm=depth,
        contour_px=points[found],
    )
