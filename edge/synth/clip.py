"""Clips: a person, a camera and a few motions, turned into the engine's `Pose` stream with
the true label of every bend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.pose.landmarks import Joint, Pose
from edge.synth.body import Skeleton, SynthBody
from edge.synth.camera import Camera, Placement
from edge.synth.cases import case_motions, case_setup, check_cases, draw_cases
from edge.synth.forward import forward_kinematics
from edge.synth.motion import Kind, Motion, Stance
from edge.synth.observe import SynthNoise, observe, see
from edge.synth.plan import Planned, motion_track, plan
from edge.synth.props import Outfit
from edge.synth.seated import SEATED, Seated

BEND_KINDS: tuple[Kind, ...] = ("hinge", "round", "squat")
# Standing before the first motion, between motions and after the last (s): long enough
# for a standing baseline to be learned.
STAND_RANGE_S = (0.8, 2.0)


@dataclass(frozen=True)
class SynthBendLabel:
    """The truth about one bend. Times in the clip's seconds; angles at the deepest point.

    `reasons` are the taught errors the bend shows (empty for a good hinge or squat);
    `hands_xy_norm` where the wrists' midpoint is in the image at the deepest point;
    `cases` the hard cases of its clip (`edge.synth.cases`; empty = the plain household).
    """

    start_s: float
    end_s: float
    deepest_s: float
    posture: str
    subtype: str
    lift: bool
    reasons: tuple[str, ...]
    depth: float
    trunk_inclination_deg: float
    knee_flexion_deg: float
    hip_flexion_deg: float
    lumbar_flexion_deg: float
    thoracic_flexion_deg: float
    neck_flexion_deg: float
    hip_shift_norm: float
    hands_xy_norm: tuple[float, float]
    view_yaw_deg: float
    activity: str = "unknown"
    cases: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ClipTruth:
    """True angles per frame (arrays of the clip's length, poses dropped or not)."""

    t_s: np.ndarray
    trunk_inclination_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_shift_norm: np.ndarray
    lumbar_flexion_deg: np.ndarray
    thoracic_flexion_deg: np.ndarray
    neck_flexion_deg: np.ndarray
    posture: np.ndarray  # (n,) str: "stand", "seated" or the bend's posture


@dataclass(frozen=True, eq=False)
class Clip:
    """One camera's view of one person: the engine's poses (None = no person found),
    the bends' true labels, the spans of deliberate motions that are no bend (standing
    ones, a seated spell, standing up) and the clip's hard cases."""

    poses: list[Pose | None]
    labels: list[SynthBendLabel]
    fps: float
    camera: Camera
    body: SynthBody
    truth: ClipTruth
    stand_spans: list[tuple[float, float, str]] = field(default_factory=list)
    cases: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return len(self.poses) / self.fps

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return self.camera.resolution_wh

    def index_at(self, t_s: float) -> int:
        """The frame nearest to time `t_s`."""
        return int(np.clip(round((t_s - self.truth.t_s[0]) * self.fps), 0, len(self.poses) - 1))

    def deepest_pose(self, label: SynthBendLabel) -> Pose | None:
        """The pose at the label's deepest moment, or the nearest frame that has one."""
        i = self.index_at(label.deepest_s)
        for d in range(len(self.poses)):
            for j in (i - d, i + d):
                if 0 <= j < len(self.poses) and self.poses[j] is not None:
                    return self.poses[j]
        return None


def _angle_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = np.sum(u * v, -1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1),
                                         1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def true_angles(skel: Skeleton, body: SynthBody) -> dict[str, np.ndarray]:
    """Trunk inclination, knee and hip flexion and hip shift from the true 3D body."""
    j = skel.joints_m
    hip = (j[:, Joint.LEFT_HIP] + j[:, Joint.RIGHT_HIP]) / 2
    sh = (j[:, Joint.LEFT_SHOULDER] + j[:, Joint.RIGHT_SHOULDER]) / 2
    knee = (j[:, Joint.LEFT_KNEE] + j[:, Joint.RIGHT_KNEE]) / 2
    ankle = (j[:, Joint.LEFT_ANKLE] + j[:, Joint.RIGHT_ANKLE]) / 2
    trunk = sh - hip
    incl = np.degrees(np.arctan2(trunk[:, 0], trunk[:, 1]))
    knee_flex = (180.0 - _angle_deg(hip - knee, ankle - knee))
    hip_flex = 180.0 - _angle_deg(trunk, knee - hip)
    shift = (ankle[:, 0] - hip[:, 0]) / body.leg_m
    return dict(trunk_inclination_deg=incl, knee_flexion_deg=knee_flex,
                hip_flexion_deg=hip_flex, hip_shift_norm=shift)


@dataclass(frozen=True, eq=False)
class SimRun:
    """What `simulate` gives: the poses, the labels, per-frame truth arrays, standing spans."""

    poses: list[Pose | None]
    labels: list[SynthBendLabel]
    truth: dict[str, np.ndarray]
    stand_spans: list[tuple[float, float, str]]


def simulate(rng: np.random.Generator, body: SynthBody, camera: Camera,
             motions: Sequence[Motion | Seated], *, placement: Placement | None = None,
             stance: Stance | None = None, noise: SynthNoise | None = None,
             with_mask: bool = True, t0_s: float = 0.0, open_start: bool = False,
             open_end: bool = False, activity: str = "unknown", outfit: Outfit | None = None,
             cases: tuple[str, ...] = ()) -> SimRun:
    """Play `motions` one after another (standing between) in front of `camera`.

    `open_start` starts the recording during the first motion's way down, `open_end` stops
    it on the last one's way up (both still hold the deepest moment). `outfit` puts props
    on the body, holds the hands and merges or breaks the mask; `cases` go on the labels."""
    placement = placement or Placement()
    stance = stance or Stance.random(rng, body)
    noise = SynthNoise() if noise is None else noise
    fps = camera.fps
    if (open_start and motions and isinstance(motions[0], Seated)) or (
            open_end and motions and isinstance(motions[-1], Seated)):
        raise ValueError("open_start/open_end: expected a bend at the cut end, got a chair")
    t = float(rng.uniform(*STAND_RANGE_S))
    if open_start and motions:
        first = motions[0]
        assert isinstance(first, Motion)
        t = -float(rng.uniform(0.3, 0.9)) * first.down_s
    schedule: list[tuple[float, Planned]] = []
    for m in motions:
        schedule.append((t, m.plan(body, stance, rng) if isinstance(m, Seated)
                         else plan(body, stance, m, rng)))
        t += m.duration_s + float(rng.uniform(*STAND_RANGE_S))
    if open_end and motions:
        start, last = schedule[-1][0], motions[-1]
        assert isinstance(last, Motion)
        deepest = start + last.down_s + last.hold_s / 2
        t = deepest + 1.0 / fps + float(rng.uniform(0.1, 0.6)) * (last.hold_s / 2 + last.up_s)
    n = max(1, int(math.ceil(t * fps)))
    t_local = np.arange(n) / fps
    track = motion_track(body, stance, t_local, schedule, rng)
    skel = forward_kinematics(body, track)
    if outfit is not None:
        # Hands that hold a prop or the trunk go where the first pass puts it.
        track = outfit.hold(track, skel, body)
        skel = outfit.attach(forward_kinematics(body, track), body, fps)
    seen = see(skel, camera, placement)
    poses = observe(seen, camera, t_local + t0_s, noise, rng, with_mask)
    angles = true_angles(skel, body)
    posture = np.full(n, "stand", dtype=object)
    labels: list[SynthBendLabel] = []
    spans: list[tuple[float, float, str]] = []
    w, h = camera.resolution_wh
    for start, pl in schedule:
        for a, b, name in pl.no_bend_spans():
            spans.append((start + a + t0_s, start + b + t0_s, name))
            if name == SEATED:
                posture[(t_local >= start + a) & (t_local <= start + b)] = SEATED
        for bend in pl.bends():
            deepest = start + bend.hold_from_s + bend.hold_s / 2.0
            i = int(np.clip(round(deepest * fps), 0, n - 1))
            posture[(t_local >= start + bend.start_s) & (t_local <= start + bend.end_s)] = (
                bend.kind)
            hands = (seen.joints_px[i, Joint.LEFT_WRIST]
                     + seen.joints_px[i, Joint.RIGHT_WRIST]) / 2
            labels.append(SynthBendLabel(
                start_s=start + bend.start_s + t0_s, end_s=start + bend.end_s + t0_s,
                deepest_s=deepest + t0_s, posture=bend.kind, subtype=bend.subtype,
                lift=bend.lift, reasons=bend.reasons, depth=bend.depth,
                trunk_inclination_deg=float(angles["trunk_inclination_deg"][i]),
                knee_flexion_deg=float(angles["knee_flexion_deg"][i]),
                hip_flexion_deg=float(angles["hip_flexion_deg"][i]),
                lumbar_flexion_deg=bend.lumbar_deg, thoracic_flexion_deg=bend.thoracic_deg,
                neck_flexion_deg=bend.neck_deg, hip_shift_norm=float(angles["hip_shift_norm"][i]),
                hands_xy_norm=(float(hands[0] / w), float(hands[1] / h)),
                view_yaw_deg=_view_yaw_deg(camera, placement),
                activity=bend.activity or activity, cases=cases,
            ))
    truth = dict(t_s=t_local + t0_s, lumbar_flexion_deg=track.lumbar_deg,
                 thoracic_flexion_deg=track.thoracic_deg, neck_flexion_deg=track.neck_deg,
                 posture=posture, **angles)
    return SimRun(poses, labels, truth, spans)


def _view_yaw_deg(camera: Camera, placement: Placement) -> float:
    """The camera's yaw as the person sees it: 0 side, ±90 front/back (signed: + front)."""
    cam = np.asarray(camera.position_m)
    h = math.radians(placement.heading_deg)
    d = cam - np.array([placement.x_m, 0.0, placement.z_m])
    # Into the body frame: undo the heading.
    bx = math.cos(h) * d[0] - math.sin(h) * d[2]
    bz = math.sin(h) * d[0] + math.cos(h) * d[2]
    return math.degrees(math.atan2(bx, abs(bz)))


def make_clip(rng: np.random.Generator, kinds: Sequence[Kind] = BEND_KINDS, n_bends: int = 3,
              yaw_range_deg: tuple[float, float] = (-60.0, 60.0), *,
              motions: Sequence[Motion] | None = None, n_stands: int = 0,
              body: SynthBody | None = None, camera: Camera | None = None,
              fps: float | None = None, noise: SynthNoise | None = None,
              with_mask: bool = True, front: bool = False, open_start: bool = False,
              open_end: bool = False, cases: Sequence[str] | None = None,
              hard: bool = False) -> Clip:
    """A clip of `n_bends` motions drawn from `kinds` (a "stand" motion has no label),
    plus `n_stands` bouts of standing (sway, reach, step, dip) mixed in, seen from a
    random camera within `yaw_range_deg` (or in front with `front=True`).

    `motions` plays exactly those instead of drawing; `noise=SynthNoise.none()` gives exact
    landmarks without dropouts; `open_start`/`open_end` cut the first/last bend so it is
    already under way when the clip starts / still under way when it ends (its label keeps
    the true start_s < 0 / end_s > duration). `cases` plays those hard cases
    (`edge.synth.cases`); `hard=True` draws them (a seeded share of clips has none); the
    default, neither, is the plain household every stored figure was measured on.
    """
    if n_bends < 0 or n_stands < 0:
        raise ValueError(f"n_bends, n_stands: expected ≥ 0, got {n_bends}, {n_stands}")
    for k in kinds:
        if k not in (*BEND_KINDS, "stand"):
            raise ValueError(f"kinds: expected hinge, round, squat or stand, got {k!r}")
    if hard and cases is None:
        cases = draw_cases(rng)
    chosen = check_cases(cases or ())
    body = body or SynthBody.random(rng)
    # No case draws nothing more from `rng`: the plain household stays as it was.
    setup = case_setup(rng, chosen, body, yaw_range_deg) if chosen else None
    cam = camera or Camera.random(
        rng, yaw_range_deg=setup.yaw_range_deg if setup else yaw_range_deg,
        body_height_m=body.height_m, front=front)
    if fps is not None:
        cam = cam.with_fps(fps)
    if motions is None:
        drawn = [Motion.random(rng, kinds[int(rng.integers(len(kinds)))]) for _ in range(n_bends)]
        for _ in range(n_stands):
            drawn.insert(int(rng.integers(len(drawn) + 1)), Motion.random(rng, "stand"))
        motions = drawn
    played: Sequence[Motion | Seated] = motions
    if setup is not None:
        played = case_motions(rng, chosen, motions, setup.outfit)
    run = simulate(rng, body, cam, played, noise=noise, with_mask=with_mask,
                   open_start=open_start, open_end=open_end,
                   stance=setup.stance if setup else None,
                   outfit=setup.outfit if setup else None, cases=chosen)
    return Clip(poses=run.poses, labels=run.labels, fps=cam.fps, camera=cam, body=body,
                truth=ClipTruth(**run.truth), stand_spans=run.stand_spans, cases=chosen)
