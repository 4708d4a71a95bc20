"""Squat or hinge seen from the front: the picture's own proportions decide (issue 9, item 4)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from edge.analysis.bends import Sample
from edge.analysis.classifier import classify_picture, classify_samples
from edge.analysis.kinematics import Kinematics, trunk_to_leg_image
from edge.pose.landmarks import Joint, Pose

# Knees at 55°: below the world rule's 60°, as the world angles read deep squats head-on.
FRONT = Kinematics(
    t_s=0.0, trunk_inclination_deg=30.0, hip_flexion_deg=60.0, knee_flexion_deg=55.0,
    hip_shift_norm=0.05, lowering_norm=0.2, head_flexion_deg=10.0, torso_chord_ratio=1.0,
    yaw_deg=80.0, view="front", legs_seen=True, trunk_seen=True, trunk_to_leg_image=0.9,
)


def _pose(shoulder_y: float, hip_y: float, ankle_y: float) -> Pose:
    """A person facing the camera: only the heights matter here (pixels of a 640×480 frame)."""
    xy = np.full((33, 2), 320.0)
    xy[:, 1] = shoulder_y - 40.0  # head and face above the shoulders
    knee_y = (hip_y + ankle_y) / 2
    for joints, y in (((Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER), shoulder_y),
                      ((Joint.LEFT_HIP, Joint.RIGHT_HIP), hip_y),
                      ((Joint.LEFT_KNEE, Joint.RIGHT_KNEE), knee_y),
                      ((Joint.LEFT_ANKLE, Joint.RIGHT_ANKLE), ankle_y)):
        xy[list(joints), 1] = y
    return Pose(0.0, (640, 480), xy / np.array([640.0, 480.0]), np.ones(33), 1.0)


def test_the_trunk_shortens_in_a_bend_and_the_legs_in_a_squat() -> None:
    standing = trunk_to_leg_image(_pose(150, 260, 420))  # trunk 110 px over legs 160 px
    bent = trunk_to_leg_image(_pose(210, 260, 420))  # trunk tipped towards the camera
    squat = trunk_to_leg_image(_pose(190, 290, 400))  # hips down, trunk near upright
    assert 0.6 <= standing <= 0.75
    assert bent < 0.5
    assert squat > 0.75
    assert math.isnan(trunk_to_leg_image(_pose(150, 260, 265)))  # legs out of sight


@pytest.mark.parametrize(
    ("kin", "posture"),
    [
        ({}, "squat"),
        # The trunk's height shrank, not the legs': a forward bend seen head-on, unread.
        ({"trunk_to_leg_image": 0.5}, "unsure"),
        # Knees read nearly straight (head-on, deep squats read 10–40°): the legs shortened
        # in the picture must say it alone, clearly, with the hips lowered and the chest up.
        ({"knee_flexion_deg": 30.0, "trunk_to_leg_image": 0.85}, "unsure"),
        ({"knee_flexion_deg": 12.0, "trunk_to_leg_image": 1.1}, "squat"),
        ({"knee_flexion_deg": 12.0, "trunk_to_leg_image": 1.1, "lowering_norm": 0.1},
         "unsure"),
        ({"knee_flexion_deg": 12.0, "trunk_to_leg_image": 1.1,
          "trunk_inclination_deg": 60.0}, "unsure"),
        ({"knee_flexion_deg": 12.0, "trunk_to_leg_image": 1.1,
          "trunk_inclination_deg": -25.0}, "unsure"),
        ({"legs_seen": False}, "unsure"),
        # Side-on, the world angles decide as before (hip-dominant here: no squat).
        ({"view": "side", "yaw_deg": 10.0, "trunk_inclination_deg": 60.0,
          "hip_flexion_deg": 110.0, "knee_flexion_deg": 50.0}, "unsure"),
    ],
)
def test_a_squat_seen_from_the_front(kin: dict[str, Any], posture: str) -> None:
    k = replace(FRONT, **kin)
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    samples = [Sample(pose, replace(k, t_s=i / 10), None) for i in range(5)]
    assert classify_samples(samples).posture == posture


def test_a_picture_with_a_slight_tilt_from_the_front_is_a_squat_only_when_it_shows_one() -> None:
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    squat = classify_picture(Sample(pose, FRONT, None))
    tilt = classify_picture(Sample(pose, replace(FRONT, trunk_to_leg_image=0.65), None))
    assert squat.posture == "squat" and squat.confidence >= 0.5
    assert tilt.posture == "unsure" and tilt.reasons == ("front_view",)


@pytest.mark.parametrize(("view", "yaw", "reason"), [("front", 78.0, "front_view"),
                                                     ("side", 20.0, "back_unclear")])
def test_a_picture_leaning_back_past_the_exit_tilt_is_no_one_standing(
        view: str, yaw: float, reason: str) -> None:
    """A forward fold whose depth the model read backwards: not `stand`, unsure."""
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    upright = replace(FRONT, view=view, yaw_deg=yaw, knee_flexion_deg=6.0, hip_flexion_deg=35.0,
                      trunk_to_leg_image=0.54, lowering_norm=0.0)
    assert classify_picture(Sample(pose, replace(upright, trunk_inclination_deg=-5.0),
                                   None)).posture == "stand"
    verdict = classify_picture(Sample(pose, replace(upright, trunk_inclination_deg=-31.0), None))
    assert verdict.posture == "unsure" and verdict.reasons == (reason,)


def test_a_picture_with_squat_proportions_leaning_back_is_no_squat() -> None:
    """Legs short in the picture and knees bent, as a squat seen head-on, but the trunk read
    leaning back 32°: no squat balances so; a fold read the wrong way round, unsure."""
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    assert classify_picture(Sample(pose, replace(FRONT, trunk_inclination_deg=-5.0),
                                   None)).posture == "squat"
    verdict = classify_picture(Sample(pose, replace(FRONT, trunk_inclination_deg=-32.0), None))
    assert verdict.posture == "unsure" and verdict.reasons == ("front_view",)


@pytest.mark.parametrize(("view", "yaw", "tilt", "lowering", "posture"), [
    ("side", 10.0, 12.0, 0.0, "stand"),      # a standing person reads 0–15° side-on
    ("side", 10.0, 25.0, 0.0, "unsure"),     # nobody stands leaning 25° in profile
    ("oblique", 40.0, 25.0, 0.0, "stand"),   # obliquely the tilt is less sure: as before
])
def test_a_picture_tilted_between_the_exit_and_entry_tilts_side_on_is_no_one_standing(
        view: str, yaw: float, tilt: float, lowering: float, posture: str) -> None:
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    k = replace(FRONT, view=view, yaw_deg=yaw, trunk_inclination_deg=tilt,
                knee_flexion_deg=6.0, hip_flexion_deg=tilt + 5.0, trunk_to_leg_image=0.6,
                lowering_norm=lowering)
    verdict = classify_picture(Sample(pose, k, None))
    assert verdict.posture == posture, verdict
    if posture == "unsure":
        assert verdict.reasons == ("back_unclear",)


def test_a_side_on_picture_with_the_hips_lowered_is_judged_as_a_bend_at_any_tilt() -> None:
    """The band says nothing of a lowered body: hips down with the chest up is a squat."""
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    k = replace(FRONT, view="side", yaw_deg=10.0, trunk_inclination_deg=25.0,
                knee_flexion_deg=95.0, hip_flexion_deg=110.0, lowering_norm=0.35)
    assert classify_picture(Sample(pose, k, None)).posture == "squat"
