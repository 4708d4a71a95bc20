"""Hinge, round or squat, from a bend's deepest part; with reasons and a confidence.

The rules, in the order they decide:
1. A bulging back line (the dowel test failed) → round, whatever the knees do.
2. Hips not behind the feet with the trunk well forward (bending from the waist) → round.
3. Knee-dominant with the trunk fairly upright → squat.
4. Otherwise hip-dominant with a straight back → hinge (a deadlift-like lift from the
   floor with bent knees and a flat back is a hinge too).
Where the back line cannot be read (front view, something along the back, trunk not
forward enough), the verdict says so through a lower confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.analysis.backline import BackLine
from edge.analysis.bends import Bend, Sample, depth_of, is_bent
from edge.analysis.kinematics import Kinematics, View, view_of

# Back-line bulge over chord (see backline.py for the arc geometry): at or above ROUND the
# outline is one convex arc of ≳16° of spread flexion; at or below FLAT (≈9°) it is within
# what a neutral spine shows (its lordosis and kyphosis roughly cancel; synthetic neutral
# backs with clothing read up to ~0.03). Between: unsure. Raising ROUND calls fewer rounds.
BULGE_ROUND = 0.035
BULGE_FLAT = 0.020
# The back line is read only with the trunk this far forward (the bend-entry tilt): more
# upright, the outline is the standing S-curve and arms or clothes dominate it.
BACKLINE_MIN_TRUNK_DEG = 30.0
# In a knee-dominant lowering the trunk stays near upright and the outline at hip level is
# buttocks and lordosis, not the spine's curve: read it only past this tilt.
BACKLINE_MIN_TRUNK_SQUAT_DEG = 45.0
# Frames at least this share of the bend's greatest depth form its "deepest part".
DEEP_SHARE = 0.85
# Squat: the straighter knee bent at least this much, and no less than this share of the
# hip flexion (knee-dominant), with the trunk no further forward than SQUAT_MAX_TRUNK_DEG.
SQUAT_MIN_KNEE_DEG = 60.0
SQUAT_MIN_KNEE_TO_HIP = 0.6
# "Chest up": a squat keeps the trunk within 45° of vertical; a bent-knee lift with the
# trunk further forward (a deadlift start) is a hinge.
SQUAT_MAX_TRUNK_DEG = 45.0
# Waist bend: hips less than this share of leg length behind the ankles while the trunk is
# forward of WAIST_MIN_TRUNK_DEG — "bending from the waist" leaves the hips over the feet.
WAIST_MAX_SHIFT = 0.02
WAIST_MIN_TRUNK_DEG = 60.0
# Upper-back rounding: the bulge peaks in the upper part of the outline (share of chord).
UPPER_BACK_FROM = 0.55
# Head drop: the neck turned towards the chest this much beyond the trunk line (the ear
# already sits ~15–20° forward of it in a neutral stance).
HEAD_DROP_DEG = 40.0
# Locked knees: straighter than this in a deep forward bend (a hinge keeps them soft).
LOCKED_KNEE_DEG = 8.0
LOCKED_MIN_TRUNK_DEG = 60.0


@dataclass(frozen=True)
class Verdict:
    posture: str  # hinge | round | squat | stand
    confidence: float
    reasons: tuple[str, ...]
    view: View
    back_bulge_norm: float | None
    peak: Kinematics


def _median_kin(kins: Sequence[Kinematics]) -> Kinematics:
    def med(name: str) -> float:
        return float(np.nanmedian([getattr(k, name) for k in kins]))

    yaw = med("yaw_deg")
    return Kinematics(
        t_s=kins[len(kins) // 2].t_s,
        trunk_inclination_deg=med("trunk_inclination_deg"),
        hip_flexion_deg=med("hip_flexion_deg"),
        knee_flexion_deg=med("knee_flexion_deg"),
        hip_shift_norm=med("hip_shift_norm"),
        lowering_norm=med("lowering_norm"),
        head_flexion_deg=med("head_flexion_deg"),
        torso_chord_ratio=med("torso_chord_ratio"),
        yaw_deg=yaw,
        view=view_of(yaw),
        legs_seen=any(k.legs_seen for k in kins),
        trunk_seen=any(k.trunk_seen for k in kins),
    )


def _bulge(
    samples: Sequence[Sample], peak: Kinematics, min_trunk_deg: float
) -> tuple[float | None, float]:
    """Median bulge over the deep frames where the back line is valid, and where it peaks."""
    if peak.view == "front" or peak.trunk_inclination_deg < min_trunk_deg:
        return None, 0.5
    lines: list[BackLine] = [s.back for s in samples if s.back is not None]
    if len(lines) < max(1, len(samples) // 2):
        return None, 0.5  # mostly unreadable: something lies along the back
    bulges = [b.bulge_norm for b in lines]
    where = []
    for b in lines:
        pts = b.contour_px
        if len(pts) >= 3:
            chord = pts[-1] - pts[0]
            normal = np.array([-chord[1], chord[0]]) / (np.linalg.norm(chord) + 1e-9)
            off = np.abs((pts - pts[0]) @ normal)
            where.append(float(np.argmax(off)) / (len(pts) - 1))
    return float(np.median(bulges)), float(np.median(where)) if where else 0.5


def classify_samples(samples: Sequence[Sample]) -> Verdict:
    """The verdict for the deepest part of a run of frames (a bend, or one picture)."""
    depths = np.array([depth_of(s.kin) for s in samples])
    deep = [s for s, d in zip(samples, depths, strict=True) if d >= DEEP_SHARE * depths.max()]
    peak = _median_kin([s.kin for s in deep])
    squat_like = (
        peak.knee_flexion_deg >= SQUAT_MIN_KNEE_DEG
        and peak.knee_flexion_deg >= SQUAT_MIN_KNEE_TO_HIP * peak.hip_flexion_deg
        and peak.trunk_inclination_deg <= SQUAT_MAX_TRUNK_DEG
    )
    min_trunk = BACKLINE_MIN_TRUNK_SQUAT_DEG if squat_like else BACKLINE_MIN_TRUNK_DEG
    bulge, bulge_at = _bulge(deep, peak, min_trunk)
    reasons: list[str] = []
    if bulge is not None and bulge >= BULGE_ROUND:
        reasons.append("upper_back_rounding" if bulge_at >= UPPER_BACK_FROM else "lumbar_rounding")
    waist = (peak.trunk_inclination_deg >= WAIST_MIN_TRUNK_DEG
             and peak.hip_shift_norm < WAIST_MAX_SHIFT)
    if waist:
        reasons.append("waist_bend")
    if peak.head_flexion_deg >= HEAD_DROP_DEG:
        reasons.append("head_drop")
    if (peak.trunk_inclination_deg >= LOCKED_MIN_TRUNK_DEG
            and peak.knee_flexion_deg < LOCKED_KNEE_DEG):
        reasons.append("locked_knees")

    rounded = bulge is not None and bulge >= BULGE_ROUND
    if rounded or waist:
        posture = "round"
    elif squat_like:
        posture = "squat"
    else:
        posture = "hinge"

    # Confidence: how clearly the back line sits outside its unsure band, and the view.
    if posture == "squat" and not rounded:
        margin = min(1.0, (peak.knee_flexion_deg - SQUAT_MIN_KNEE_DEG) / 30.0 + 0.5)
        clarity = 0.6 + 0.35 * margin
    elif bulge is None:
        clarity = 0.6 if waist else 0.45  # the back's shape is unseen: a guess from angles
    elif rounded:
        clarity = 0.6 + 0.35 * min(1.0, (bulge - BULGE_ROUND) / BULGE_ROUND + 0.3)
    elif bulge <= BULGE_FLAT:
        clarity = 0.6 + 0.35 * min(1.0, (BULGE_FLAT - bulge) / BULGE_FLAT + 0.3)
    else:
        clarity = 0.5  # inside the unsure band
    view_factor = {"side": 1.0, "oblique": 0.85, "front": 0.5}[peak.view]
    confidence = float(np.clip(clarity * view_factor, 0.05, 0.99))
    return Verdict(posture, confidence, tuple(reasons), peak.view, bulge, peak)


def classify_bend(bend: Bend) -> Verdict:
    return classify_samples(bend.samples)


def classify_picture(sample: Sample) -> Verdict:
    """One picture: `stand` unless the body is bent past the bend-entry thresholds."""
    if not is_bent(sample.kin):
        k = sample.kin
        conf = 0.9 if k.trunk_inclination_deg < 15 else 0.7
        return Verdict("stand", conf, (), k.view, None, k)
    return classify_samples([sample])


def time_beyond_deg_s(kins: Sequence[Kinematics], threshold_deg: float = 60.0) -> float:
    """Seconds the trunk spent forward of `threshold_deg` (ISO 11226's severe band)."""
    total = 0.0
    for a, b in zip(kins, kins[1:], strict=False):
        if a.trunk_inclination_deg > threshold_deg and not math.isnan(a.trunk_inclination_deg):
            total += b.t_s - a.t_s
    return total
