"""Per-frame body angles from a `Pose`: pure functions, units in the names.

Angles come from the world landmarks (metres, viewpoint-robust). "Up" is the standing
trunk direction learned by calibration when there is one; otherwise BlazePose's world −y,
which leans towards the camera by up to ~24° — so the forward bend is measured along the
body's own forward direction (perpendicular to its left–right axis), which a lean towards
the camera barely touches in side and oblique views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edge.pose.landmarks import Joint, Pose

View = Literal["side", "oblique", "front"]

WORLD_DOWN = np.array([0.0, 1.0, 0.0])
# A landmark counts as seen at or above this visibility; raising it drops more frames.
MIN_VISIBILITY = 0.5
# Body yaw from a pure side view (0°) to a pure front/back view (90°): below SIDE_MAX_DEG
# the back's outline is in profile; beyond OBLIQUE_MAX_DEG the back is hidden.
SIDE_MAX_DEG = 30.0
OBLIQUE_MAX_DEG = 60.0


@dataclass(frozen=True)
class Baseline:
    """A standing person as the device sees them: their up direction and sizes (m)."""

    up_world: np.ndarray
    torso_chord_m: float
    leg_length_m: float


@dataclass(frozen=True)
class Kinematics:
    """One frame's angles. NaN where the landmarks needed are not seen.

    - trunk_inclination_deg: mid-hip→mid-shoulder against up, forward positive (>90° when
      the shoulders are below the hips);
    - hip_flexion_deg: trunk against thigh (0 standing);
    - knee_flexion_deg: thigh against shank (0 straight), the straighter knee;
    - hip_shift_norm: how far the hips are behind the ankles, over leg length;
    - lowering_norm: how much lower the hips are than a straight leg would hold them
      (1 − hip height / leg length);
    - head_flexion_deg: the neck (shoulder→ear) bent towards the chest against the trunk
      line; the dowel test's head point;
    - torso_chord_ratio: shoulder–hip distance over the standing value (1 without baseline);
    - yaw_deg: 0 side view … 90 front or back view; view: its class;
    - trunk_to_leg_image: in the picture, the hip→shoulder height over the ankle→hip height
      (NaN when the legs fold out of sight). It needs no depth, so it holds seen from the
      front: ~0.6–0.75 standing; a forward bend shortens the trunk's height (a hinge or a
      rounded back at 60° reads ~0.3–0.5), a squat shortens the legs' (≳0.75).
    - chord_to_leg: the world landmarks' hip–shoulder distance over the leg's length
      (hip–knee plus knee–ankle): a rounded spine shortens it (NaN without world landmarks).
    """

    t_s: float
    trunk_inclination_deg: float
    hip_flexion_deg: float
    knee_flexion_deg: float
    hip_shift_norm: float
    lowering_norm: float
    head_flexion_deg: float
    torso_chord_ratio: float
    yaw_deg: float
    view: View
    legs_seen: bool
    trunk_seen: bool
    trunk_to_leg_image: float = math.nan
    chord_to_leg: float = math.nan

    @property
    def hip_lead_deg(self) -> float:
        """Hip flexion beyond knee flexion: the trunk's lean past the shanks', near 0 in a
        deep squat, ≳40° in a hip-dominant bend or a deadlift start."""
        return self.hip_flexion_deg - self.knee_flexion_deg

    @property
    def knee_to_hip_ratio(self) -> float:
        """Knee flexion over hip flexion: > 1 knee-dominant (squat), < 1 hip-dominant."""
        return self.knee_flexion_deg / max(self.hip_flexion_deg, 5.0)


def _mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) / 2.0


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < 1e-9 or nv < 1e-9:
        return math.nan
    return math.degrees(math.acos(float(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))))


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else v


def lateral_axis(world: np.ndarray) -> np.ndarray:
    """The body's left→right axis: hips and shoulders together (each alone is noisy)."""
    hips = world[Joint.RIGHT_HIP] - world[Joint.LEFT_HIP]
    shoulders = world[Joint.RIGHT_SHOULDER] - world[Joint.LEFT_SHOULDER]
    return _unit(_unit(hips) + _unit(shoulders))


# A trunk "leaning back" past horizontal, shoulders below the hips, is no posture in a home
# (a gymnast's bridge): the facing direction was read reversed. Lying on one's back reads
# about −90° and stays as it is.
MAX_BACKWARD_LEAN_DEG = 100.0


# Each leg: hip, knee, ankle, and the shoulder above that hip.
_LEGS = ((Joint.LEFT_HIP, Joint.LEFT_KNEE, Joint.LEFT_ANKLE, Joint.LEFT_SHOULDER),
         (Joint.RIGHT_HIP, Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE, Joint.RIGHT_SHOULDER))


def forward_axis(world: np.ndarray, up: np.ndarray, lateral: np.ndarray | None = None
                 ) -> np.ndarray:
    """The way the person faces, horizontal: perpendicular to the lateral axis and up."""
    return _unit(np.cross(up, lateral_axis(world) if lateral is None else lateral))


def yaw_of(lateral: np.ndarray) -> float:
    """0 when the camera sees the body from the side, 90 from the front or back."""
    return math.degrees(math.atan2(abs(lateral[0]), abs(lateral[2]) + 1e-9))


def view_of(yaw_deg: float) -> View:
    if yaw_deg < SIDE_MAX_DEG:
        return "side"
    return "oblique" if yaw_deg < OBLIQUE_MAX_DEG else "front"


def _best_side(pose: Pose, joints: tuple[Joint, Joint]) -> float:
    return float(min(pose.visibility[joints[0]], pose.visibility[joints[1]]))


# Shoulder width over torso length seen from the front: biacromial breadth (~0.37 m) over
# the hip–shoulder distance (~0.5 m). The 2-D view estimate scales the seen width by it.
FRONT_WIDTH_RATIO = 0.75


def _image_frame(pose: Pose) -> tuple[np.ndarray, np.ndarray, float]:
    """Landmarks as a flat 'world' (x right, y down, z 0) in pixels, the forward axis (the
    way the trunk tips, ±x), and the yaw from shoulder width against torso length.

    For engines without world landmarks (MoveNet): angles measured in the picture are true
    only in a side view, so the view estimate matters more here.
    """
    xy = pose.xy_px
    w = np.column_stack([xy, np.zeros(len(xy))])
    hip = _mid(w[Joint.LEFT_HIP], w[Joint.RIGHT_HIP])
    shoulder = _mid(w[Joint.LEFT_SHOULDER], w[Joint.RIGHT_SHOULDER])
    nose = w[Joint.NOSE]
    lead = shoulder[0] - hip[0]
    if abs(lead) < 1e-6:
        lead = nose[0] - hip[0]
    forward = np.array([1.0 if lead >= 0 else -1.0, 0.0, 0.0])
    torso = float(np.linalg.norm(shoulder - hip)) or 1.0
    width = float(np.linalg.norm(w[Joint.LEFT_SHOULDER] - w[Joint.RIGHT_SHOULDER]))
    yaw = math.degrees(math.asin(min(1.0, width / torso / FRONT_WIDTH_RATIO)))
    return w, forward, yaw


def kinematics(pose: Pose, baseline: Baseline | None = None) -> Kinematics:
    """The frame's angles: from world landmarks (BlazePose), else from the picture."""
    flat = pose.world_m is None
    if flat:
        w, forward, yaw = _image_frame(pose)
        baseline = None  # a baseline is in metres; the picture is in pixels
    else:
        assert pose.world_m is not None
        w = pose.world_m
    up = baseline.up_world if baseline is not None else -WORLD_DOWN
    hip = _mid(w[Joint.LEFT_HIP], w[Joint.RIGHT_HIP])
    shoulder = _mid(w[Joint.LEFT_SHOULDER], w[Joint.RIGHT_SHOULDER])
    knee = _mid(w[Joint.LEFT_KNEE], w[Joint.RIGHT_KNEE])
    ankle = _mid(w[Joint.LEFT_ANKLE], w[Joint.RIGHT_ANKLE])
    ear = _mid(w[Joint.LEFT_EAR], w[Joint.RIGHT_EAR])
    trunk = shoulder - hip
    if not flat:
        lateral = lateral_axis(w)  # once per frame: it sets both forward and the view
        forward = forward_axis(w, up, lateral)
    trunk_incl = math.degrees(math.atan2(float(np.dot(trunk, forward)), float(np.dot(trunk, up))))
    if trunk_incl < -MAX_BACKWARD_LEAN_DEG:
        # No one leans back this far: the model swapped left and right (deep folds do it),
        # which turns "forward" round. The body faces the other way.
        forward = -forward
        trunk_incl = -trunk_incl

    # Per side, then averaged: each leg bends on its own in a lunge or a step.
    hip_flex = [_flexion_deg(w, s_j, h_j, k_j) for h_j, k_j, _, s_j in _LEGS]
    # The body stands on its lower foot: a raised leg (a step, a tree pose) must not read
    # as the hips dropping. Hip height and shift are taken over that foot.
    left_h = float(np.dot(hip - w[Joint.LEFT_ANKLE], up))
    right_h = float(np.dot(hip - w[Joint.RIGHT_ANKLE], up))
    ankle = w[Joint.LEFT_ANKLE] if left_h >= right_h else w[Joint.RIGHT_ANKLE]
    thigh = float(np.linalg.norm(hip - knee))
    shank = float(np.linalg.norm(knee - _mid(w[Joint.LEFT_ANKLE], w[Joint.RIGHT_ANKLE])))
    leg = baseline.leg_length_m if baseline is not None else thigh + shank
    hip_over_ankle = hip - ankle
    hip_shift = -float(np.dot(hip_over_ankle, forward)) / leg
    lowering = 1.0 - max(left_h, right_h) / leg

    # Head: the neck's turn off the trunk line, positive towards the chest. The chest faces
    # forward when upright and down when the trunk is horizontal: the trunk turned −90°
    # in the plane of forward and up.
    neck = ear - shoulder
    t_unit = _unit(trunk)
    chest = float(np.dot(t_unit, up)) * forward - float(np.dot(t_unit, forward)) * up
    head = _angle_deg(neck, trunk)
    head_sign = 1.0 if float(np.dot(neck, chest)) >= 0 else -1.0
    chord = float(np.linalg.norm(trunk))
    knee_deg = _straighter_knee_deg(w)
    if not flat:
        yaw = yaw_of(lateral)
        if view_of(yaw) != "front":
            # A knee bending in the sagittal plane shows at most its true flexion in the
            # picture (seen obliquely both segments lean towards the vertical), and the
            # world landmarks read deep knee bends low (the rendered squats they read under
            # 60° within 60° of side-on: 12–55° where the rig bent 90–132°; the picture's
            # own angle read 56–112° on 13 of those 14): the larger of the two is closer.
            knee_deg = float(np.fmax(knee_deg, _straighter_knee_deg(pose.xy_px)))  # NaN: the other
    legs_seen = max(_best_side(pose, (Joint.LEFT_KNEE, Joint.LEFT_ANKLE)),
                    _best_side(pose, (Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE))) >= MIN_VISIBILITY
    trunk_seen = max(_best_side(pose, (Joint.LEFT_HIP, Joint.LEFT_SHOULDER)),
                     _best_side(pose, (Joint.RIGHT_HIP, Joint.RIGHT_SHOULDER))) >= MIN_VISIBILITY
    return Kinematics(
        t_s=pose.t_s,
        trunk_inclination_deg=trunk_incl,
        hip_flexion_deg=float(np.nanmean(hip_flex)),
        knee_flexion_deg=knee_deg,
        hip_shift_norm=hip_shift,
        lowering_norm=lowering,
        head_flexion_deg=head_sign * head,
        torso_chord_ratio=chord / baseline.torso_chord_m if baseline is not None else 1.0,
        yaw_deg=yaw,
        view=view_of(yaw),
        legs_seen=legs_seen,
        trunk_seen=trunk_seen,
        trunk_to_leg_image=trunk_to_leg_image(pose),
        chord_to_leg=math.nan if flat or thigh + shank <= 0 else chord / (thigh + shank),
    )


def _flexion_deg(points: np.ndarray, a: int, b: int, c: int) -> float:
    """The bend at `b` of the chain a–b–c (0 straight; NaN when a segment has no length)."""
    return 180.0 - _angle_deg(points[a] - points[b], points[c] - points[b])


def _straighter_knee_deg(points: np.ndarray) -> float:
    """The straighter knee's flexion, in world or picture points: a squat bends both knees,
    and the straighter one says how deep. NaN only when neither knee is measured."""
    left, right = (_flexion_deg(points, h, k, a) for h, k, a, _ in _LEGS)
    return float(np.fmin(left, right))


def trunk_to_leg_image(pose: Pose) -> float:
    """The picture's hip→shoulder height over its ankle→hip height (y points down)."""
    xy = pose.xy_px
    hip = float(xy[Joint.LEFT_HIP, 1] + xy[Joint.RIGHT_HIP, 1]) / 2
    shoulder = float(xy[Joint.LEFT_SHOULDER, 1] + xy[Joint.RIGHT_SHOULDER, 1]) / 2
    ankle = float(xy[Joint.LEFT_ANKLE, 1] + xy[Joint.RIGHT_ANKLE, 1]) / 2
    leg = ankle - hip
    if leg < 0.05 * float(pose.resolution_wh[1]):  # legs folded out of sight or lost
        return math.nan
    return (hip - shoulder) / leg
