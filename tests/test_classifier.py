"""The classifier's rules on plain values: each row names what it changes from a clean,
side-on, hip-dominant bend with a straight back, and what the verdict must be."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest

from edge.analysis.backline import BackLine
from edge.analysis.bends import Sample
from edge.analysis.classifier import classify_samples
from edge.analysis.kinematics import Kinematics, view_of
from edge.pose.landmarks import Pose

BASE_KIN = Kinematics(
    t_s=0.0, trunk_inclination_deg=70.0, hip_flexion_deg=85.0, knee_flexion_deg=20.0,
    hip_shift_norm=0.15, lowering_norm=0.1, head_flexion_deg=20.0, torso_chord_ratio=0.95,
    yaw_deg=10.0, view="side", legs_seen=True, trunk_seen=True,
)
BASE_BACK = BackLine(
    bulge_norm=0.0, peak_at=0.5, hidden=False, upper_hump_norm=0.01, hands_at_shoulders=False,
    hip_tuck_norm=0.0, lower_tuck_norm=0.0, depth_mean_norm=0.27, chord_px=50.0,
    found_share=1.0, max_slope=0.3,
    fit_rms=0.005,
    depth_norm=np.full(20, 0.27), contour_px=np.zeros((20, 2)),
)


def _bend(kin: dict[str, Any], back: dict[str, Any] | None, frames: int = 5) -> list[Sample]:
    k = replace(BASE_KIN, **kin)
    k = replace(k, view=view_of(k.yaw_deg))
    line = None if back is None else replace(BASE_BACK, **back)
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    return [Sample(pose, replace(k, t_s=i / 10), line) for i in range(frames)]


@dataclass(frozen=True)
class Case:
    """One rule: what changes from the clean bend, and the verdict it must get."""

    why: str
    posture: str
    kin: dict[str, Any] = field(default_factory=dict)
    back: dict[str, Any] | None = field(default_factory=dict)  # None: the back line unread
    reasons: frozenset[str] = frozenset()


CASES = [
    Case("a clean side-on hinge with a straight back", posture="hinge"),
    Case("a bulge low on the back over a tucked pelvis", posture="round",
         back={"bulge_norm": 0.08, "peak_at": 0.4, "hip_tuck_norm": -0.1},
         reasons=frozenset({"lumbar_rounding"})),
    # Lumbar flexion tucks the pelvis; a low arc with the buttocks out is clothes and
    # shoulder blades drawn forward over a flat back as likely as a rounded lower back.
    Case("a bulge low on the back with the buttocks out", posture="unsure",
         back={"bulge_norm": 0.08, "peak_at": 0.4, "hip_tuck_norm": -0.02},
         reasons=frozenset({"back_unclear"})),
    Case("a bulge high on the back, the pelvis as in a hinge", posture="round",
         back={"bulge_norm": 0.08, "peak_at": 0.7}, reasons=frozenset({"upper_back_rounding"})),
    Case("a straight outline over a clearly tucked pelvis", posture="unsure",
         back={"hip_tuck_norm": -0.14}, reasons=frozenset({"back_unclear"})),
    Case("a hump over the lower outline", posture="round",
         back={"upper_hump_norm": 0.09}, reasons=frozenset({"upper_back_rounding"})),
    # A rounded spine brings the shoulders towards the pelvis; an outline that bulges over
    # a trunk as long as a standing one's is something on or by the back (hair, a pack, a
    # box's edge), whichever way the outline reads.
    Case("a bulge over a tucked pelvis, the trunk as long as standing", posture="unsure",
         kin={"chord_to_leg": 0.64},
         back={"bulge_norm": 0.08, "peak_at": 0.4, "hip_tuck_norm": -0.1},
         reasons=frozenset({"back_unclear"})),
    Case("a hump, the trunk as long as standing", posture="unsure",
         kin={"chord_to_leg": 0.64}, back={"upper_hump_norm": 0.09},
         reasons=frozenset({"back_unclear"})),
    Case("a bulge over a tucked pelvis, the trunk shortened as a rounded spine does",
         posture="round", kin={"chord_to_leg": 0.52},
         back={"bulge_norm": 0.08, "peak_at": 0.4, "hip_tuck_norm": -0.1},
         reasons=frozenset({"lumbar_rounding"})),
    # Two signs of a flexed lower back that need no curve in the outline: the pelvis tucked
    # under and the trunk a fifth shorter than standing. Each alone a hinge can show.
    Case("a straight outline over a clearly tucked pelvis, the trunk shortened a fifth",
         posture="round", kin={"chord_to_leg": 0.5}, back={"hip_tuck_norm": -0.14},
         reasons=frozenset({"lumbar_rounding"})),
    Case("... the trunk shortened only as much as a hinge's can be", posture="unsure",
         kin={"chord_to_leg": 0.57}, back={"hip_tuck_norm": -0.14},
         reasons=frozenset({"back_unclear"})),
    Case("a trunk shortened a fifth with the buttocks out and a straight outline",
         posture="hinge", kin={"chord_to_leg": 0.5}, back={"hip_tuck_norm": -0.02}),
    Case("the same hump seen at 45°: the shoulder girdle's own breadth, not rounding",
         posture="hinge", kin={"yaw_deg": 45.0},
         back={"upper_hump_norm": 0.09, "depth_mean_norm": 0.45}),
    # A hump while the hands are at the shoulders is what they hold, and a hump no spine
    # makes (a bar with plates) is something on them: the upper back is unseen. The lower
    # back read straight over hips pushed back is the hinge's own part, seen: a hinge, in
    # the clear hip-dominant case only; a rounded lower back is still round.
    Case("a hump with the hands at the shoulders, the lower back straight, hips out",
         posture="hinge", back={"upper_hump_norm": 0.12, "hands_at_shoulders": True}),
    Case("a hump no spine makes, the lower back straight, hips out", posture="hinge",
         back={"upper_hump_norm": 0.38}),
    Case("... the pelvis tucked a little under", posture="unsure",
         back={"upper_hump_norm": 0.12, "hands_at_shoulders": True, "hip_tuck_norm": -0.06},
         reasons=frozenset({"back_hidden"})),
    Case("... the knees bent as a squat's", posture="unsure",
         kin={"trunk_inclination_deg": 60.0, "hip_flexion_deg": 115.0,
              "knee_flexion_deg": 70.0},
         back={"upper_hump_norm": 0.12, "hands_at_shoulders": True},
         reasons=frozenset({"back_hidden"})),
    Case("... the lower back between straight and rounded", posture="unsure",
         back={"upper_hump_norm": 0.38, "bulge_norm": 0.035},
         reasons=frozenset({"back_hidden"})),
    Case("a hump no spine makes over a rounded lower back", posture="round",
         back={"upper_hump_norm": 0.38, "bulge_norm": 0.09, "hip_tuck_norm": -0.1},
         reasons=frozenset({"lumbar_rounding"})),
    Case("between straight and rounded: unsure, never a guess", posture="unsure",
         back={"bulge_norm": 0.035}, reasons=frozenset({"back_unclear"})),
    Case("a small hump: unsure, never a guess", posture="unsure",
         back={"upper_hump_norm": 0.07}, reasons=frozenset({"back_unclear"})),
    Case("a straight outline far behind the joints is a bag or furniture", posture="unsure",
         back={"depth_mean_norm": 0.5}, reasons=frozenset({"back_unclear"})),
    Case("a front view", posture="unsure", kin={"yaw_deg": 75.0},
         reasons=frozenset({"front_view"})),
    Case("a hidden back", posture="unsure", back={"hidden": True},
         reasons=frozenset({"back_hidden"})),
    Case("something on the upper back, the lower back clearly flexed", posture="round",
         kin={"chord_to_leg": 0.55}, back={"hidden": True, "lower_tuck_norm": -0.13},
         reasons=frozenset({"lumbar_rounding"})),
    Case("... flexed less, yet beyond any side-on hinge's", posture="round",
         kin={"chord_to_leg": 0.55}, back={"hidden": True, "lower_tuck_norm": -0.085},
         reasons=frozenset({"lumbar_rounding"})),
    Case("... as far seen obliquely, where hinges reach it", posture="unsure",
         kin={"chord_to_leg": 0.55, "yaw_deg": 40.0},
         back={"hidden": True, "lower_tuck_norm": -0.085}, reasons=frozenset({"back_hidden"})),
    Case("... the lower back as a hinge's", posture="unsure",
         kin={"chord_to_leg": 0.55}, back={"hidden": True, "lower_tuck_norm": -0.03},
         reasons=frozenset({"back_hidden"})),
    Case("... the trunk as long as a standing one's", posture="unsure",
         kin={"chord_to_leg": 0.65}, back={"hidden": True, "lower_tuck_norm": -0.13},
         reasons=frozenset({"back_hidden"})),
    Case("no back line read", posture="unsure", back=None,
         reasons=frozenset({"back_unclear"})),
    Case("hips over the feet, trunk well forward, side-on, back unread: a waist bend",
         posture="round", kin={"hip_shift_norm": -0.05}, back=None,
         reasons=frozenset({"waist_bend"})),
    Case("... but not from a front view, where the hip position is a guess", posture="unsure",
         kin={"hip_shift_norm": -0.05, "yaw_deg": 75.0}, back=None,
         reasons=frozenset({"front_view"})),
    Case("knee-dominant with the chest up: a squat, back line or not", posture="squat",
         kin={"trunk_inclination_deg": 35.0, "hip_flexion_deg": 100.0,
              "knee_flexion_deg": 90.0}, back=None),
    Case("trunk parallel to the shanks a little further forward: still a squat",
         posture="squat", back=None,
         kin={"trunk_inclination_deg": 53.0, "hip_flexion_deg": 105.0,
              "knee_flexion_deg": 90.0}),
    Case("a deadlift start (bent knees, trunk well forward, flat back) is a hinge",
         posture="hinge",
         kin={"trunk_inclination_deg": 60.0, "hip_flexion_deg": 115.0,
              "knee_flexion_deg": 70.0}),
    Case("knees deeper than any hinge's, the trunk leaning as a deep squat's is read: a squat",
         posture="squat",
         kin={"trunk_inclination_deg": 57.0, "hip_flexion_deg": 120.0,
              "knee_flexion_deg": 95.0}),
    Case("... not from the front, where the world angles are a guess", posture="unsure",
         kin={"trunk_inclination_deg": 57.0, "hip_flexion_deg": 120.0,
              "knee_flexion_deg": 95.0, "yaw_deg": 75.0}, back=None,
         reasons=frozenset({"front_view"})),
    Case("... nor with the hips leading the knees as a hinge's do", posture="hinge",
         kin={"trunk_inclination_deg": 57.0, "hip_flexion_deg": 140.0,
              "knee_flexion_deg": 95.0}),
    Case("... nor with the trunk past a deep squat's lean", posture="hinge",
         kin={"trunk_inclination_deg": 64.0, "hip_flexion_deg": 125.0,
              "knee_flexion_deg": 95.0}),
    Case("a rounded back in a squat is still round", posture="round",
         kin={"trunk_inclination_deg": 48.0, "hip_flexion_deg": 110.0,
              "knee_flexion_deg": 95.0},
         back={"bulge_norm": 0.09, "hip_tuck_norm": -0.1}, reasons=frozenset({"lumbar_rounding"})),
    Case("straight knees", posture="hinge", kin={"knee_flexion_deg": 3.0},
         reasons=frozenset({"locked_knees"})),
    Case("the head dropped", posture="hinge", kin={"head_flexion_deg": 50.0},
         reasons=frozenset({"head_drop"})),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.why)
def test_rules(case: Case) -> None:
    verdict = classify_samples(_bend(case.kin, case.back))
    assert verdict.posture == case.posture, verdict
    assert set(verdict.reasons) == case.reasons, verdict.reasons


def test_unsure_has_no_confidence_and_a_clear_reading_beats_a_marginal_one() -> None:
    assert classify_samples(_bend({}, {"bulge_norm": 0.035})).confidence == 0.0
    clear = classify_samples(_bend({}, {"bulge_norm": -0.04})).confidence
    marginal = classify_samples(_bend({}, {"bulge_norm": 0.02})).confidence
    oblique = classify_samples(_bend({"yaw_deg": 40.0}, {"bulge_norm": -0.04})).confidence
    assert clear > marginal and clear > oblique


def test_a_round_verdict_is_as_sure_as_its_pelvis_is_tucked_and_its_view_side_on() -> None:
    """Rendered hinges reaching for a box bulge like rounds with the hips barely in; the raw
    score (which the confidence map turns into how often it was right) says so."""
    def round_with(tuck: float, yaw: float = 10.0) -> Any:
        verdict = classify_samples(_bend(
            {"yaw_deg": yaw}, {"bulge_norm": 0.1, "peak_at": 0.4, "hip_tuck_norm": tuck}))
        assert verdict.rules_posture == "round", verdict
        return verdict

    barely, clearly = round_with(-0.045), round_with(-0.15)
    assert barely.score < clearly.score and barely.confidence <= clearly.confidence
    unmeasured = round_with(math.nan)  # the hips' outline unseen: evidence neither way
    assert unmeasured.back.hip_tuck_norm is None
    assert barely.score < unmeasured.score < clearly.score
    oblique = round_with(-0.15, yaw=55.0)
    assert oblique.score < clearly.score and oblique.confidence <= clearly.confidence


def test_one_clean_frame_among_hidden_ones_is_not_a_reading() -> None:
    samples = _bend({}, {"hidden": True}, frames=5)
    samples[0] = Sample(samples[0].pose, samples[0].kin, BASE_BACK)
    verdict = classify_samples(samples)
    assert verdict.posture == "unsure" and verdict.reasons == ("back_hidden",)
    assert verdict.back.frames_read == 1 and verdict.back.frames == 5


def test_a_bend_whose_depth_was_never_measured_is_unsure_not_an_error() -> None:
    """Every frame's trunk angle NaN (the landmarks gave no trunk): no deepest part to read."""
    verdict = classify_samples(_bend({"trunk_inclination_deg": math.nan,
                                      "hip_flexion_deg": math.nan}, {}))
    assert verdict.posture == "unsure"
    # A NaN frame among measured ones is never picked as the deepest.
    measured = _bend({}, {})
    mixed = classify_samples([replace(measured[0], kin=replace(
        measured[0].kin, trunk_inclination_deg=math.nan))] + measured[1:])
    assert mixed.posture == classify_samples(measured).posture == "hinge"


@pytest.mark.parametrize(("kin", "back"), [
    ({"chord_to_leg": 0.5}, {"hip_tuck_norm": -0.14}),  # tucked pelvis, shortened trunk
    ({"hip_shift_norm": -0.3}, None),  # hips far over the feet, the back unread: a waist bend
    ({}, {"hidden": True, "lower_tuck_norm": -0.2}),  # the lower back alone, clearly flexed
], ids=["shortened", "waist", "lower back alone"])
def test_a_round_read_without_a_curve_is_never_said_with_confidence(
        kin: dict[str, Any], back: dict[str, Any] | None) -> None:
    """A round verdict without the outline's curve (the tucked pelvis with the shortened
    trunk; the hips over the feet with the back unread) is the least clear kind: below the
    confidence a person would act on at once, however clear its own sign."""
    from edge.events import ACT_ON_CONFIDENCE

    verdict = classify_samples(_bend(kin, back))
    assert verdict.posture == "round"
    assert 0.5 <= verdict.confidence < ACT_ON_CONFIDENCE, verdict.confidence


@pytest.mark.parametrize(("tuck", "sure"), [(-0.06, False), (-0.12, True)])
def test_a_round_over_a_pelvis_that_hinges_also_show_is_never_said_with_confidence(
        tuck: float, sure: bool) -> None:
    """A clear bulge over a pelvis at −0.06 (where rendered hinges with long hair or a load
    read as often as rounds) is round but not confident; over −0.12, confident."""
    from edge.analysis.classifier import WEAK_ROUND_MAX_CONFIDENCE
    from edge.events import ACT_ON_CONFIDENCE

    verdict = classify_samples(_bend({"chord_to_leg": 0.5},
                                     {"bulge_norm": 0.2, "peak_at": 0.4, "hip_tuck_norm": tuck}))
    assert verdict.posture == "round" and "lumbar_rounding" in verdict.reasons
    if sure:
        assert verdict.confidence >= ACT_ON_CONFIDENCE, verdict.confidence
    else:
        assert 0.5 <= verdict.confidence <= WEAK_ROUND_MAX_CONFIDENCE < ACT_ON_CONFIDENCE



@pytest.mark.parametrize(("bulge", "sure"), [(0.0, False), (-0.05, False), (0.04, True)])
def test_a_hump_over_an_outline_otherwise_straight_is_never_said_with_confidence(
        bulge: float, sure: bool) -> None:
    """A hump topping a straight or hollow outline is a backpack's shape as much as a rounded
    upper back's (on the renders every such verdict wore one): round but not confident; the
    same hump topping an outline that curves, confident."""
    from edge.analysis.classifier import WEAK_ROUND_MAX_CONFIDENCE
    from edge.events import ACT_ON_CONFIDENCE

    verdict = classify_samples(_bend({"chord_to_leg": 0.5}, {
        "upper_hump_norm": 0.15, "bulge_norm": bulge, "peak_at": 0.7, "hip_tuck_norm": -0.15}))
    assert verdict.posture == "round" and "upper_back_rounding" in verdict.reasons
    if sure:
        assert verdict.confidence >= ACT_ON_CONFIDENCE, verdict.confidence
    else:
        assert 0.5 <= verdict.confidence <= WEAK_ROUND_MAX_CONFIDENCE < ACT_ON_CONFIDENCE


@pytest.mark.parametrize(("yaw", "sure"), [(30.0, True), (44.0, True), (46.0, False),
                                          (58.0, False)])
def test_a_round_seen_more_from_the_front_than_the_side_is_never_said_with_confidence(
        yaw: float, sure: bool) -> None:
    """Past 45° of yaw the trunk's breadth makes up more of the outline than the back's
    profile (on the renders 5 of the 39 rounds said sure there were hinges or squats, none
    of 152 within): the clearest round there is still round, never sure enough to cue."""
    from edge.analysis.classifier import WEAK_ROUND_MAX_CONFIDENCE
    from edge.events import ACT_ON_CONFIDENCE

    verdict = classify_samples(_bend({"chord_to_leg": 0.5, "yaw_deg": yaw},
                                     {"bulge_norm": 0.2, "peak_at": 0.4, "hip_tuck_norm": -0.2}))
    assert verdict.posture == "round" and "lumbar_rounding" in verdict.reasons
    if sure:
        assert verdict.confidence >= ACT_ON_CONFIDENCE, verdict.confidence
    else:
        assert 0.5 <= verdict.confidence <= WEAK_ROUND_MAX_CONFIDENCE < ACT_ON_CONFIDENCE
