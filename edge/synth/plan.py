"""Plans: a motion fitted to one body (balance, hands) and played into the posture
arrays; `motion_track` plays a schedule of plans (motions, or anything `Planned`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from edge.synth.body import SynthBody, Track
from edge.synth.forward import chord_offset_deg, forward_kinematics
from edge.synth.motion import Motion, Stance, progress, standing_track, track_from

# Where the centre of mass sits ahead of the ankles at the deepest point (m, reference
# body): mid-foot for a balanced bend; behind for sitting onto a seat.
COM_AHEAD_M = 0.05
SIT_COM_AHEAD_M = -0.03

@dataclass(frozen=True)
class BendSpan:
    """One labelled bend inside a planned motion; times from the motion's start (s)."""

    start_s: float
    end_s: float
    hold_from_s: float  # the deepest hold starts here and lasts hold_s: deepest in its middle
    hold_s: float
    kind: str
    subtype: str
    lift: bool
    reasons: tuple[str, ...]
    depth: float
    lumbar_deg: float
    thoracic_deg: float
    neck_deg: float
    activity: str | None = None



def _deep_track(body: SynthBody, stance: Stance, m: Motion, shank_deg: np.ndarray) -> Track:
    a = standing_track(len(shank_deg), body, stance)
    n = len(shank_deg)
    a.update(trunk_deg=np.full(n, m.trunk_deg), lumbar_deg=np.full(n, m.lumbar_deg),
             thoracic_deg=np.full(n, m.thoracic_deg), neck_deg=np.full(n, m.neck_deg),
             knee_deg=np.full(n, m.knee_deg), shank_deg=shank_deg)
    return track_from(a, stance)


def balanced_shank_deg(body: SynthBody, stance: Stance, m: Motion) -> float:
    """The shank angle at the deepest point that keeps the body over its feet: the centre
    of mass over mid-foot, or for a waist bend the hips over the ankles."""
    cand = np.linspace(-12.0, 55.0, 68)
    sk = forward_kinematics(body, _deep_track(body, stance, m, cand))
    if m.hip_mode == "over_feet":
        hip_x = (sk.joints_m[:, 23, 0] + sk.joints_m[:, 24, 0]) / 2.0
        err = hip_x + 0.02 * body.s  # a waist bend still lets the hips drift back ~2 cm
    else:
        ahead = SIT_COM_AHEAD_M if m.subtype == "sit" else COM_AHEAD_M
        err = sk.com_m[:, 0] - ahead * body.s
    return float(cand[int(np.argmin(np.abs(err)))])


class Planned(Protocol):
    """Anything a clip can play: its length, its labelled bends, its spans of no bend
    (start, end, name; times from its start) and what it does to the posture arrays."""

    @property
    def duration_s(self) -> float: ...

    def bends(self) -> list[BendSpan]: ...

    def no_bend_spans(self) -> list[tuple[float, float, str]]: ...

    def add(self, arrays: dict[str, np.ndarray], t_s: np.ndarray, start_s: float,
            body: SynthBody, stance: Stance, rng: np.random.Generator) -> None: ...


@dataclass(frozen=True)
class Plan:
    """A motion fitted to one body: the shank angle that balances its deepest posture and
    where the hands are then (body frame, m)."""

    motion: Motion
    shank_deg: float
    hands_m: np.ndarray | None = field(default=None, compare=False)

    @property
    def duration_s(self) -> float:
        return self.motion.duration_s

    def bends(self) -> list[BendSpan]:
        m = self.motion
        if not m.is_bend:
            return []
        return [BendSpan(0.0, m.duration_s, m.down_s, m.hold_s, m.kind, m.subtype,
                         m.lift, m.reasons, m.depth, m.lumbar_deg, m.thoracic_deg, m.neck_deg)]

    def no_bend_spans(self) -> list[tuple[float, float, str]]:
        m = self.motion
        return [] if m.is_bend else [(0.0, m.duration_s, m.subtype)]

    def add(self, arrays: dict[str, np.ndarray], t_s: np.ndarray, start_s: float,
            body: SynthBody, stance: Stance, rng: np.random.Generator) -> None:
        add_motion(arrays, t_s, start_s, self, body, stance, rng)


def plan(body: SynthBody, stance: Stance, m: Motion, rng: np.random.Generator) -> Plan:
    """Fit `m` to `body`: the pelvis may not tilt backwards (the trunk then leans at least
    as far as the spine's own flexion carries the shoulders, plus a little hip flexion),
    balance the deepest posture and place the hands."""
    if m.is_bend:
        least = min_trunk_deg(body, stance, m.lumbar_deg, m.thoracic_deg)
        if m.trunk_deg < least:
            m = replace(m, trunk_deg=least)
    shank = balanced_shank_deg(body, stance, m) if m.is_bend else 0.0
    hands = None if m.hand_mode == "hang" else hand_object_m(body, stance, m, shank, rng)
    return Plan(m, shank, hands)


def min_trunk_deg(body: SynthBody, stance: Stance, lumbar_deg: float,
                  thoracic_deg: float) -> float:
    """The least trunk inclination that keeps the pelvis from tilting backwards: as far as
    the spine's own flexion carries the shoulders, plus a little hip flexion."""
    one = np.zeros(1)
    a = standing_track(1, body, stance)
    a.update(lumbar_deg=one + lumbar_deg, thoracic_deg=one + thoracic_deg)
    curl = float(chord_offset_deg(body, track_from(a, stance))[0])
    a.update(lumbar_deg=one, thoracic_deg=one)
    curl -= float(chord_offset_deg(body, track_from(a, stance))[0])
    # Rounding comes with at least this much hip flexion (deg); raising it pushes
    # rounded bends further forward.
    min_hip_deg = 10.0
    return curl + min_hip_deg


def hand_object_m(body: SynthBody, stance: Stance, m: Motion, shank_deg: float,
                  rng: np.random.Generator) -> np.ndarray:
    """(2, 3) where the hands are at the deepest point, from where the shoulders are."""
    deep = _deep_track(body, stance, m, np.array([shank_deg]))
    if m.hand_mode == "shelf":
        sh = forward_kinematics(body, deep).joints_m[0, [11, 12]]
        up = float(rng.uniform(0.1, 0.5)) * body.s
        out = sh + np.array([0.45 * body.s, up, 0.0])
        out[:, 2] *= 0.7
        return out
    return reach_down_m(body, deep, m.reach_deg, m.reach_share)


def reach_down_m(body: SynthBody, deep: Track, reach_deg: float,
                 reach_share: float) -> np.ndarray:
    """(2, 3) hands reaching down to an object from the shoulders of a one-frame posture."""
    sh = forward_kinematics(body, deep).joints_m[0, [11, 12]]
    arm = body.upper_arm_m + body.forearm_m
    ang = math.radians(reach_deg)
    out = sh + np.array([math.sin(ang), -math.cos(ang), 0.0]) * arm * reach_share
    # Hands come together on an object, never below the floor.
    out[:, 2] = out[:, 2].mean() + np.array([-1.0, 1.0]) * 0.12 * body.s
    out[:, 1] = np.maximum(out[:, 1], 0.04 * body.s)
    return out


def add_motion(arrays: dict[str, np.ndarray], t_s: np.ndarray, start_s: float, pl: Plan,
               body: SynthBody, stance: Stance, rng: np.random.Generator) -> None:
    """Blend a planned motion starting at `start_s` into the standing arrays, in place."""
    m = pl.motion
    p = progress(t_s, start_s, m)
    live = p > 0
    if not live.any():
        return
    et, ek, es, eh = m.easing
    pt, pk, ps, ph = p**et, p**ek, p**es, p**eh
    arrays["trunk_deg"] += (m.trunk_deg - stance.trunk_deg) * pt
    arrays["knee_deg"] += m.knee_deg * pk
    arrays["lumbar_deg"] += m.lumbar_deg * ps
    arrays["thoracic_deg"] += m.thoracic_deg * ps
    arrays["neck_deg"] += (m.neck_deg - stance.neck_deg) * ps
    arrays["shank_deg"] += pl.shank_deg * pk
    if m.hand_mode != "hang":
        arrays["protraction"] += 0.6 * ph
    if m.sway_deg:
        phase = rng.uniform(0, 2 * math.pi)
        cycle = 2 * math.pi * (t_s - start_s) / max(m.duration_s, 0.5)
        arrays["trunk_deg"] += m.sway_deg * np.sin(1.5 * cycle + phase) * np.sqrt(p)
        arrays["lean_deg"] += 0.6 * m.sway_deg * np.cos(cycle + phase) * np.sqrt(p)
    if m.step_m:
        foot = int(rng.integers(2))
        arrays["ankles_m"][:, foot, 0] += m.step_m * body.s * p
        moving = (p > 0) & (p < 1)
        arrays["ankles_m"][:, foot, 1] += np.where(moving, 0.07 * body.s * 4 * p * (1 - p), 0.0)
    if pl.hands_m is None:
        return
    w = arrays["hand_weight"]
    arrays["hand_target_m"][live] = pl.hands_m
    arrays["hand_weight"] = np.where(live, np.maximum(w, ph), w)
    if m.lift:
        # Holding it after the deepest point: the hands bring it up to the waist, keep it
        # for a moment after standing, then put it down.
        t = t_s - start_s
        rising = t >= m.down_s
        keep = np.clip(1.0 - (t - m.duration_s) / 1.2, 0.0, 1.0)
        carry = np.where(rising & (t <= m.duration_s), 1.0, np.where(t > m.duration_s, keep, 0.0))
        arrays["carry_weight"] = np.maximum(arrays["carry_weight"], carry)


def motion_track(body: SynthBody, stance: Stance, t_s: np.ndarray,
                 schedule: Sequence[tuple[float, Planned]], rng: np.random.Generator) -> Track:
    """The posture per frame for motions at their start times (they must not overlap)."""
    arrays = standing_track(len(t_s), body, stance)
    # Idle life: a slow breath-and-sway of a degree or two all along.
    phase = rng.uniform(0, 2 * math.pi, size=3)
    arrays["trunk_deg"] += 1.0 * np.sin(2 * math.pi * t_s / 4.3 + phase[0])
    arrays["lean_deg"] += 0.8 * np.sin(2 * math.pi * t_s / 5.1 + phase[1])
    arrays["twist_deg"] += 2.0 * np.sin(2 * math.pi * t_s / 7.7 + phase[2])
    for start, m in schedule:
        m.add(arrays, t_s, start, body, stance, rng)
    return track_from(arrays, stance)
