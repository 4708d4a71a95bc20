"""A household day for the demo: one camera, one person, a sequence of chores.

Each activity happens at its own spot in the room (so the camera sees it from its own
angle and in its own part of the frame) and carries a zone hint: where the hands are in
the image at its bends' deepest points. Between activities the person is out of view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.pose.landmarks import Pose
from edge.synth.body import SynthBody
from edge.synth.camera import Camera, Placement, Side, view_direction
from edge.synth.clip import Clip, ClipTruth, simulate
from edge.synth.forward import forward_kinematics
from edge.synth.motion import Motion, Stance, standing_track, track_from
from edge.synth.observe import SynthNoise


@dataclass(frozen=True)
class ActivitySpec:
    """A chore: its zone name, how many bends, which bends people make for it (subtype
    weights), whether the hands lift something, how deep it goes."""

    name: str
    zone: str
    bends: tuple[int, int]
    subtypes: tuple[tuple[str, float], ...]
    lift: float
    depth: tuple[float, float]


ACTIVITIES: dict[str, ActivitySpec] = {
    "dishwasher": ActivitySpec("dishwasher", "dishwasher", (2, 4), (
        ("hip_hinge", 0.35), ("lumbar", 0.2), ("waist", 0.15), ("thoracic", 0.1),
        ("combo", 0.05), ("bent_knee_hinge", 0.05), ("squat", 0.1)), 0.0, (0.6, 0.9)),
    "crib": ActivitySpec("crib", "crib", (1, 2), (
        ("hip_hinge", 0.4), ("bent_knee_hinge", 0.1), ("lumbar", 0.2), ("thoracic", 0.15),
        ("waist", 0.15)), 1.0, (0.6, 0.85)),
    "groceries": ActivitySpec("groceries", "counter", (2, 3), (
        ("hip_hinge", 0.2), ("bent_knee_hinge", 0.2), ("squat", 0.25), ("lumbar", 0.15),
        ("waist", 0.1), ("combo", 0.1)), 1.0, (0.8, 1.0)),
    "gardening": ActivitySpec("gardening", "garden", (2, 3), (
        ("squat", 0.35), ("combo", 0.2), ("waist", 0.15), ("lumbar", 0.15),
        ("hip_hinge", 0.15)), 0.0, (0.8, 1.0)),
    "chair": ActivitySpec("chair", "chair", (1, 1), (("sit", 1.0),), 0.0, (0.6, 1.0)),
}
DEFAULT_DAY = ("dishwasher", "crib", "groceries", "gardening", "chair")
_KIND_OF = {"hip_hinge": "hinge", "bent_knee_hinge": "hinge", "lumbar": "round",
            "thoracic": "round", "waist": "round", "combo": "round", "squat": "squat",
            "sit": "squat"}
# Out of view between chores (s).
GAP_RANGE_S = (1.5, 3.0)
# Every landmark of a standing or deeply bent person must land this far inside the frame
# (share of its size) for a spot to be used.
FRAME_MARGIN = 0.02


@dataclass(frozen=True)
class Activity:
    """One chore in the day: when, which zone, where its hands are in the image."""

    name: str
    zone: str
    start_s: float
    end_s: float
    zone_hint_xy_norm: tuple[float, float]
    placement: Placement
    view_yaw_deg: float


@dataclass(frozen=True, eq=False)
class Day:
    clip: Clip
    activities: list[Activity]


def _fits(body: SynthBody, stance: Stance, camera: Camera, placement: Placement) -> bool:
    """Does a standing and a deeply bent person at `placement` stay inside the frame?"""
    a = standing_track(3, body, stance)
    a["trunk_deg"][1:] = (95.0, 40.0)
    a["knee_deg"][1:] = (15.0, 125.0)
    a["shank_deg"][1:] = (-5.0, 35.0)
    a["hand_target_m"][1:, :, 0] = 0.6 * body.s
    a["hand_target_m"][1:, :, 1] = 0.05
    a["hand_weight"][1:] = 1.0
    joints = forward_kinematics(body, track_from(a, stance)).joints_m
    px, depth = camera.project(placement.to_room(joints))
    w, h = camera.resolution_wh
    xy = px / np.array([w, h])
    return bool((depth > 0.5).all() and (xy > FRAME_MARGIN).all()
                and (xy < 1.0 - FRAME_MARGIN).all())


def _place(rng: np.random.Generator, body: SynthBody, stance: Stance, camera: Camera,
           yaw_range_deg: tuple[float, float]) -> Placement:
    """A spot in view where the camera sees the person from a yaw in `yaw_range_deg`."""
    cam = np.asarray(camera.position_m)
    for _ in range(60):
        bearing = math.radians(camera.azimuth_deg
                               + rng.uniform(-0.3, 0.3) * camera.hfov_deg)
        dist = float(rng.uniform(0.85, 1.3)) * camera.distance_m * math.cos(
            math.radians(camera.pitch_deg))
        x = cam[0] + dist * math.cos(bearing)
        z = cam[2] + dist * math.sin(bearing)
        yaw = float(rng.uniform(*yaw_range_deg))
        side: Side = "left" if rng.random() < 0.5 else "right"
        want = view_direction(yaw, side)
        to_cam = np.array([cam[0] - x, 0.0, cam[2] - z])
        heading = math.degrees(math.atan2(want[2], want[0]) - math.atan2(to_cam[2], to_cam[0]))
        placement = Placement(x, z, heading)
        if _fits(body, stance, camera, placement):
            return placement
    return Placement()  # where the camera was set up to look


def household_day(rng: np.random.Generator, activities: Sequence[str] = DEFAULT_DAY, *,
                  body: SynthBody | None = None, camera: Camera | None = None,
                  yaw_range_deg: tuple[float, float] = (-60.0, 60.0),
                  noise: SynthNoise | None = None, with_mask: bool = True,
                  fps: float | None = None) -> Day:
    """One person doing `activities` in turn in front of one fixed camera."""
    for name in activities:
        if name not in ACTIVITIES:
            raise ValueError(f"activities: expected names from {sorted(ACTIVITIES)}, "
                             f"got {name!r}")
    body = body or SynthBody.random(rng)
    stance = Stance.random(rng, body)
    cam = camera or Camera.random(rng, yaw_range_deg=(0.0, 0.0), body_height_m=body.height_m)
    if fps is not None:
        cam = cam.with_fps(fps)
    poses: list[Pose | None] = []
    labels = []
    spans: list[tuple[float, float, str]] = []
    truth: dict[str, list[np.ndarray]] = {}
    done: list[Activity] = []
    clock = 0.0
    for name in activities:
        spec = ACTIVITIES[name]
        placement = _place(rng, body, stance, cam, yaw_range_deg)
        subs = [s for s, _ in spec.subtypes]
        weights = np.array([w for _, w in spec.subtypes])
        motions = []
        for _ in range(int(rng.integers(spec.bends[0], spec.bends[1] + 1))):
            sub = str(rng.choice(subs, p=weights / weights.sum()))
            lift = sub != "sit" and bool(rng.random() < spec.lift)
            motions.append(Motion.random(rng, _KIND_OF[sub], sub,  # type: ignore[arg-type]  # sub is drawn from the spec's own subtypes
                                         depth=float(rng.uniform(*spec.depth)), lift=lift))
        run = simulate(rng, body, cam, motions, placement=placement, stance=stance,
                       noise=noise, with_mask=with_mask, t0_s=clock, activity=name)
        run_labels = run.labels
        poses.extend(run.poses)
        labels.extend(run_labels)
        spans.extend(run.stand_spans)
        for k, v in run.truth.items():
            truth.setdefault(k, []).append(v)
        end = clock + len(run.poses) / cam.fps
        hands = np.mean([lb.hands_xy_norm for lb in run_labels], axis=0)
        done.append(Activity(name, spec.zone, clock, end, (float(hands[0]), float(hands[1])),
                             placement, run_labels[0].view_yaw_deg))
        gap = int(round(float(rng.uniform(*GAP_RANGE_S)) * cam.fps))
        t_gap = end + np.arange(gap) / cam.fps
        poses.extend([None] * gap)
        for k in run.truth:
            if k == "t_s":
                truth[k].append(t_gap)
            elif k == "posture":
                truth[k].append(np.full(gap, "absent", dtype=object))
            else:
                truth[k].append(np.full(gap, np.nan))
        clock = end + gap / cam.fps
    clip = Clip(poses=poses, labels=labels, fps=cam.fps, camera=cam, body=body,
                truth=ClipTruth(**{k: np.concatenate(v) for k, v in truth.items()}),
                stand_spans=spans)
    return Day(clip, done)
