"""One rep (one bend) scored against its drill's target, with one short cue in the
guide's words: the most important thing to change, or what to keep doing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from edge.analysis.analyzer import AnalyzedBend
from edge.analysis.classifier import BackStatus, VerdictPosture
from edge.practice.drills import Drill

Fault = Literal["back_unread", "rounded_back", "squat", "hips_forward", "locked_knees",
                "knees_too_bent", "too_shallow", "head_drop"]
# In the order they are cued: what must change first comes first. A back that could not
# be read comes before anything it would have said; a rounded back before the legs.
FAULTS: tuple[Fault, ...] = ("back_unread", "rounded_back", "squat", "hips_forward",
                             "locked_knees", "knees_too_bent", "too_shallow", "head_drop")

CUES: dict[str, str] = {
    "rounded_back": "keep the stick on your head, mid-back and tailbone",
    "squat": "that was a squat, not a hinge: hips back, not down, shins nearly upright",
    "hips_forward": "hips back, as if closing a drawer with them",
    "locked_knees": "soften the knees",
    "knees_too_bent": "less knee: the hips go back, the knees only soften",
    "too_shallow": "hinge further: chest forward as the hips go back",
    "head_drop": "keep your head in line with your back, eyes on the floor ahead",
    "good": "good hinge: keep it just like that",
}
# An unread back: what to change so the camera can read it (the verdict's unsure reason).
UNREAD_CUES: dict[str, str] = {
    "front_view": "turn side-on to the camera",
    "back_hidden": "keep your back in view: nothing along it, hands off your shoulders",
    "back_unclear": "stand side-on with your whole body in view, so your back can be read",
}


@dataclass(frozen=True)
class Rep:
    """A scored rep. Angles at the bend's deepest part (the classifier's median of it)."""

    index: int
    start_s: float
    end_s: float
    deepest_s: float
    posture: VerdictPosture
    confidence: float
    reasons: tuple[str, ...]
    view: str
    trunk_deg: float
    hip_shift_norm: float
    knee_deg: float
    head_deg: float
    back_status: BackStatus
    back_bulge_norm: float | None
    lift: bool
    good: bool
    faults: tuple[Fault, ...]
    cue: str


def faults_of(drill: Drill, bend: AnalyzedBend) -> tuple[Fault, ...]:
    """Every way this bend missed the drill's target, in cueing order."""
    v, k, t = bend.verdict, bend.verdict.peak, drill.target
    found: set[Fault] = set()
    if v.posture == "unsure":
        found.add("back_unread")
    elif v.posture == "round":
        # A bend from the waist is cured by sending the hips back; a curved back line
        # by the stick.
        if "waist_bend" in v.reasons:
            found.add("hips_forward")
        if {"lumbar_rounding", "upper_back_rounding"} & set(v.reasons) or not found:
            found.add("rounded_back")
    elif v.posture == "squat":
        found.add("squat")
    if v.posture != "squat":  # a squat's legs are the squat itself: one cue says it
        if _below(k.hip_shift_norm, t.min_hip_shift_norm):
            found.add("hips_forward")
        if "locked_knees" in v.reasons or _below(k.knee_flexion_deg, t.min_knee_deg):
            found.add("locked_knees")
        if t.max_knee_deg is not None and k.knee_flexion_deg > t.max_knee_deg:
            found.add("knees_too_bent")
        if _below(k.trunk_inclination_deg, t.min_trunk_deg):
            found.add("too_shallow")
        if "head_drop" in v.reasons or k.head_flexion_deg >= t.max_head_flexion_deg:
            found.add("head_drop")
    return tuple(f for f in FAULTS if f in found)


def _below(value: float, bound: float) -> bool:
    # An unmeasured angle (NaN) is no fault: the verdict already says what was unseen.
    return not math.isnan(value) and value < bound


def cue_for(drill: Drill, faults: tuple[Fault, ...], unsure_reasons: tuple[str, ...] = ()) -> str:
    """The one cue for a rep: its first fault in the drill's words, or praise."""
    if not faults:
        return CUES["good"]
    first = faults[0]
    if first == "back_unread":
        reason = next((r for r in unsure_reasons if r in UNREAD_CUES), "back_unclear")
        return UNREAD_CUES[reason]
    return dict(drill.cues).get(first, CUES[first])


def score_rep(drill: Drill, bend: AnalyzedBend, index: int) -> Rep:
    v, k = bend.verdict, bend.verdict.peak
    faults = faults_of(drill, bend)
    return Rep(
        index=index,
        start_s=bend.bend.start_s,
        end_s=bend.bend.end_s,
        deepest_s=bend.bend.deepest.kin.t_s,
        posture=v.posture,
        confidence=v.confidence,
        reasons=v.reasons,
        view=v.view,
        trunk_deg=k.trunk_inclination_deg,
        hip_shift_norm=k.hip_shift_norm,
        knee_deg=k.knee_flexion_deg,
        head_deg=k.head_flexion_deg,
        back_status=v.back.status,
        back_bulge_norm=v.back.bulge_norm,
        lift=bend.lift,
        good=v.posture == "hinge" and not faults,
        faults=faults,
        cue=cue_for(drill, faults, v.reasons),
    )
