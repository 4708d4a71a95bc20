"""The classifier's rules on plain values: each row names what it changes from a clean,
side-on, hip-dominant bend with a straight back, and what the verdict must be."""

from __future__ import annotations

from dataclasses import replace
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
    depth_mean_norm=0.27, chord_px=50.0, found_share=1.0, max_slope=0.3, fit_rms=0.005,
    depth_norm=np.full(20, 0.27), contour_px=np.zeros((20, 2)),
)


def _bend(kin: dict[str, Any], back: dict[str, Any] | None, frames: int = 5) -> list[Sample]:
    k = replace(BASE_KIN, **kin)
    k = replace(k, view=view_of(k.yaw_deg))
    line = None if back is None else replace(BASE_BACK, **back)
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    return [Sample(pose, replace(k, t_s=i / 10), line) for i in range(frames)]


@pytest.mark.parametrize(
    ("kin", "back", "posture", "reasons"),
    [
        ({}, {}, "hinge", set()),
        ({}, {"bulge_norm": 0.08, "peak_at": 0.4}, "round", {"lumbar_rounding"}),
        ({}, {"bulge_norm": 0.08, "peak_at": 0.7}, "round", {"upper_back_rounding"}),
        ({}, {"upper_hump_norm": 0.09}, "round", {"upper_back_rounding"}),
        # The same hump seen at 45°: the shoulder girdle's own breadth, not rounding.
        ({"yaw_deg": 45.0}, {"upper_hump_norm": 0.09, "depth_mean_norm": 0.45}, "hinge", set()),
        # A hump while the hands are at the shoulders is what they hold, and a hump no spine
        # makes (a bar with plates) is something on them: the upper back is unseen, so a flat
        # lower back alone is no hinge; a rounded one is still round.
        ({}, {"upper_hump_norm": 0.12, "hands_at_shoulders": True}, "unsure", {"back_hidden"}),
        ({}, {"upper_hump_norm": 0.38}, "unsure", {"back_hidden"}),
        ({}, {"upper_hump_norm": 0.38, "bulge_norm": 0.09}, "round", {"lumbar_rounding"}),
        # Between straight and rounded: unsure, never a guess.
        ({}, {"bulge_norm": 0.035}, "unsure", {"back_unclear"}),
        ({}, {"upper_hump_norm": 0.07}, "unsure", {"back_unclear"}),
        # A straight outline far behind the joints is a bag or furniture, not a flat back.
        ({}, {"depth_mean_norm": 0.5}, "unsure", {"back_unclear"}),
        ({"yaw_deg": 75.0}, {}, "unsure", {"front_view"}),
        ({}, {"hidden": True}, "unsure", {"back_hidden"}),
        ({}, None, "unsure", {"back_unclear"}),
        # Hips over the feet, trunk well forward, seen side-on, back unread: a waist bend.
        ({"hip_shift_norm": -0.05}, None, "round", {"waist_bend"}),
        # ... but not from a front view, where the hip position is a guess.
        ({"hip_shift_norm": -0.05, "yaw_deg": 75.0}, None, "unsure", {"front_view"}),
        # Knee-dominant with the chest up: a squat, back line or not.
        ({"trunk_inclination_deg": 35.0, "hip_flexion_deg": 100.0, "knee_flexion_deg": 90.0},
         None, "squat", set()),
        # Trunk parallel to the shanks a little further forward: still a squat.
        ({"trunk_inclination_deg": 53.0, "hip_flexion_deg": 105.0, "knee_flexion_deg": 90.0},
         None, "squat", set()),
        # A deadlift start (bent knees, trunk well forward, flat back) is a hinge.
        ({"trunk_inclination_deg": 60.0, "hip_flexion_deg": 115.0, "knee_flexion_deg": 70.0},
         {}, "hinge", set()),
        # A rounded back in a squat is still round.
        ({"trunk_inclination_deg": 48.0, "hip_flexion_deg": 110.0, "knee_flexion_deg": 95.0},
         {"bulge_norm": 0.09}, "round", {"lumbar_rounding"}),
        ({"knee_flexion_deg": 3.0}, {}, "hinge", {"locked_knees"}),
        ({"head_flexion_deg": 50.0}, {}, "hinge", {"head_drop"}),
    ],
)
def test_rules(kin: dict[str, Any], back: dict[str, Any] | None, posture: str,
               reasons: set[str]) -> None:
    verdict = classify_samples(_bend(kin, back))
    assert verdict.posture == posture, verdict
    assert set(verdict.reasons) == reasons, verdict.reasons


def test_unsure_has_no_confidence_and_a_clear_reading_beats_a_marginal_one() -> None:
    assert classify_samples(_bend({}, {"bulge_norm": 0.035})).confidence == 0.0
    clear = classify_samples(_bend({}, {"bulge_norm": -0.04})).confidence
    marginal = classify_samples(_bend({}, {"bulge_norm": 0.02})).confidence
    oblique = classify_samples(_bend({"yaw_deg": 40.0}, {"bulge_norm": -0.04})).confidence
    assert clear > marginal and clear > oblique


def test_one_clean_frame_among_hidden_ones_is_not_a_reading() -> None:
    samples = _bend({}, {"hidden": True}, frames=5)
    samples[0] = Sample(samples[0].pose, samples[0].kin, BASE_BACK)
    verdict = classify_samples(samples)
    assert verdict.posture == "unsure" and verdict.reasons == ("back_hidden",)
    assert verdict.back.frames_read == 1 and verdict.back.frames == 5
