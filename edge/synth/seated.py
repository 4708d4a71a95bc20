"""Sitting down into a chair, staying seated (maybe reaching to the floor), standing up.

The truth the pipeline is held to (issue 9): the sit-down is ONE bend, labelled as its
spine does (hinge or round), activity `chair`, and it ends once the hips are at seat
height and still; the seated spell is no bend; a seated reach to the floor is one bend;
standing up is no bend.

The posture follows keyframes (minimum-jerk between them): standing → the sit-down's
forward lean → seated → (reach down and back) → the lean that stands up → standing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge.synth.body import SynthBody
from edge.synth.motion import Stance, reasons_of, spine_kind, standing_track, track_from
from edge.synth.plan import BendSpan, min_trunk_deg, reach_down_m

# The channels a keyframe sets: absolute values, standing = the stance's own.
CHANNELS = ("trunk_deg", "knee_deg", "shank_deg", "lumbar_deg", "thoracic_deg", "neck_deg",
            "hands")
# The sit-down's labelled span runs this long past the moment the hips reach the seat
# (s): the time a detector needs to see that they are at seat height and still, so a bend
# it ends there is still the sit-down. The seated spell (no bend) starts after it.
SETTLE_S = 1.0
# Share of the sit-down's time at which the trunk leans furthest forward.
LEAN_AT = 0.55
ACTIVITY = "chair"
# A sit-down or seated reach with a rounded back, as a share of all.
ROUND_SHARE = 0.4
# Subtype names of the seated bends (labels carry them), and the seated spell's name (its
# span, and the per-frame truth while in it).
SIT_DOWN, SEATED_REACH = "sit_down", "seated_reach"
SEATED = "seated"


@dataclass(frozen=True)
class Keys:
    """One keyframe: trunk, knee and shank angles, spine flexion, neck, hands (0 hang …
    1 on the floor target)."""

    trunk_deg: float
    knee_deg: float
    shank_deg: float
    lumbar_deg: float
    thoracic_deg: float
    neck_deg: float
    hands: float = 0.0

    def values(self) -> np.ndarray:
        return np.array([getattr(self, c) for c in CHANNELS])


def _spine(rng: np.random.Generator, rounded: bool) -> tuple[float, float, float]:
    """Lumbar, thoracic and neck flexion of a flat or a rounded back (deg)."""
    if not rounded:
        return (float(rng.uniform(-5, 5)), float(rng.uniform(-12, 3)),
                float(rng.uniform(-15, 10)))
    if rng.random() < 0.5:
        return float(rng.uniform(28, 45)), float(rng.uniform(0, 20)), float(rng.uniform(0, 25))
    return float(rng.uniform(5, 20)), float(rng.uniform(28, 45)), float(rng.uniform(10, 35))


@dataclass(frozen=True)
class Seated:
    """The whole chair sequence; `reach` the seated reach's deepest posture (None: no
    reach), `reach_times_s` (after sitting, down, hold, up)."""

    down_s: float
    lean_hold_s: float
    seated_s: float
    up_s: float
    lean: Keys
    seat: Keys
    rise: Keys
    depth: float
    reach: Keys | None = None
    reach_times_s: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    reach_deg: float = 15.0

    @property
    def duration_s(self) -> float:
        return self.down_s + self.lean_hold_s + self.seated_s + self.up_s

    @classmethod
    def random(cls, rng: np.random.Generator, reach: bool | None = None) -> Seated:
        """Sit down in 1.2–2.5 s, stay 5–10 s, stand up in 1.2–2.2 s; half reach down."""
        depth = float(rng.uniform(0.6, 1.0))
        u = (depth - 0.6) / 0.4
        lum, tho, neck = _spine(rng, bool(rng.random() < ROUND_SHARE))
        lean = Keys(30 + 25 * u + float(rng.normal(0, 3)), float(rng.uniform(50, 75)),
                    float(rng.uniform(8, 18)), lum, tho, neck)
        seat_knee = float(rng.uniform(82, 100))
        seat = Keys(float(rng.uniform(-5, 12)), seat_knee, float(rng.uniform(-5, 8)),
                    float(rng.uniform(0, 18)), float(rng.uniform(0, 15)),
                    float(rng.uniform(-5, 15)))
        rise = Keys(float(rng.uniform(35, 50)), seat_knee - float(rng.uniform(5, 15)),
                    float(rng.uniform(10, 16)), float(rng.uniform(-3, 10)),
                    float(rng.uniform(-5, 10)), float(rng.uniform(-10, 10)))
        seated_s = float(rng.uniform(5.0, 10.0))
        out = cls(down_s=float(rng.uniform(1.2, 2.5)), lean_hold_s=float(rng.uniform(0.1, 0.4)),
                  seated_s=seated_s, up_s=float(rng.uniform(1.2, 2.2)), lean=lean, seat=seat,
                  rise=rise, depth=depth)
        if reach is None:
            reach = bool(rng.random() < 0.5)
        if not reach:
            return out
        r_lum, r_tho, r_neck = _spine(rng, bool(rng.random() < ROUND_SHARE))
        deep = Keys(float(rng.uniform(55, 85)), seat_knee, seat.shank_deg, r_lum, r_tho, r_neck,
                    1.0)
        down, hold, up = (float(rng.uniform(0.8, 1.8)), float(rng.uniform(0.3, 1.2)),
                          float(rng.uniform(0.8, 1.8)))
        after = SETTLE_S + float(rng.uniform(0.3, 1.0))
        seated_s = max(seated_s, after + down + hold + up + 1.5)
        return replace(out, seated_s=seated_s, reach=deep, reach_times_s=(after, down, hold, up),
                       reach_deg=float(rng.uniform(0.0, 30.0)))

    def plan(self, body: SynthBody, stance: Stance, rng: np.random.Generator) -> SeatedPlan:
        """Fit to `body`: a rounded back leans at least as far as its curl carries it."""
        lean = self.lean
        least = min_trunk_deg(body, stance, lean.lumbar_deg, lean.thoracic_deg)
        lean = replace(lean, trunk_deg=max(lean.trunk_deg, least))
        reach, hands = self.reach, None
        if reach is not None:
            least = min_trunk_deg(body, stance, reach.lumbar_deg, reach.thoracic_deg)
            reach = replace(reach, trunk_deg=max(reach.trunk_deg, least))
            a = standing_track(1, body, stance)
            for c in CHANNELS[:-1]:
                a[c] = np.full(1, getattr(reach, c))
            hands = reach_down_m(body, track_from(a, stance), self.reach_deg,
                                 float(rng.uniform(0.85, 0.97)))
        return SeatedPlan(replace(self, lean=lean, reach=reach), hands)


@dataclass(frozen=True)
class SeatedPlan:
    """A chair sequence fitted to one body (`Planned`): keyframe times and values."""

    seq: Seated
    hands_m: np.ndarray | None

    @property
    def duration_s(self) -> float:
        return self.seq.duration_s

    @property
    def seated_at_s(self) -> float:
        return self.seq.down_s + self.seq.lean_hold_s

    def keyframes(self, stance: Stance) -> tuple[np.ndarray, np.ndarray]:
        """Times (k,) and values (k, channels)."""
        q = self.seq
        stand = Keys(stance.trunk_deg, 0.0, 0.0, 0.0, 0.0, stance.neck_deg)
        lean_t = LEAN_AT * q.down_s
        keys = [(0.0, stand), (lean_t, q.lean), (lean_t + q.lean_hold_s, q.lean),
                (self.seated_at_s, q.seat)]
        if q.reach is not None:
            after, down, hold, up = q.reach_times_s
            r0 = self.seated_at_s + after
            keys += [(r0, q.seat), (r0 + down, q.reach), (r0 + down + hold, q.reach),
                     (r0 + down + hold + up, q.seat)]
        stand_up = self.seated_at_s + q.seated_s
        keys += [(stand_up, q.seat), (stand_up + 0.5 * q.up_s, q.rise),
                 (stand_up + q.up_s, stand)]
        return np.array([t for t, _ in keys]), np.stack([k.values() for _, k in keys])

    def bends(self) -> list[BendSpan]:
        q = self.seq
        lean = q.lean
        kind = spine_kind(lean.lumbar_deg, lean.thoracic_deg)
        lean_t = LEAN_AT * q.down_s
        out = [BendSpan(0.0, self.seated_at_s + SETTLE_S, lean_t, q.lean_hold_s, kind,
                        SIT_DOWN, False,
                        reasons_of(kind, lean.lumbar_deg, lean.thoracic_deg, lean.neck_deg,
                                   lean.knee_deg),
                        q.depth, lean.lumbar_deg, lean.thoracic_deg, lean.neck_deg, ACTIVITY)]
        if q.reach is not None:
            r = q.reach
            after, down, hold, up = q.reach_times_s
            r0 = self.seated_at_s + after
            kind = spine_kind(r.lumbar_deg, r.thoracic_deg)
            out.append(BendSpan(r0, r0 + down + hold + up, r0 + down, hold, kind,
                                SEATED_REACH, False,
                                reasons_of(kind, r.lumbar_deg, r.thoracic_deg, r.neck_deg,
                                           r.knee_deg),
                                q.depth, r.lumbar_deg, r.thoracic_deg, r.neck_deg, ACTIVITY))
        return out

    def no_bend_spans(self) -> list[tuple[float, float, str]]:
        seated_end = self.seated_at_s + self.seq.seated_s
        return [(self.seated_at_s + SETTLE_S, seated_end, SEATED),
                (seated_end, self.duration_s, "stand_up")]

    def add(self, arrays: dict[str, np.ndarray], t_s: np.ndarray, start_s: float,
            body: SynthBody, stance: Stance, rng: np.random.Generator) -> None:
        times, values = self.keyframes(stance)
        t = t_s - start_s
        live = (t > 0) & (t < times[-1])
        if not live.any():
            return
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
        x = np.clip((t - times[k]) / np.maximum(times[k + 1] - times[k], 1e-3), 0.0, 1.0)
        ease = x**3 * (10 - 15 * x + 6 * x * x)
        v = values[k] + (values[k + 1] - values[k]) * ease[:, None]
        base = values[0]
        for c, name in enumerate(CHANNELS[:-1]):
            arrays[name] += np.where(live, v[:, c] - base[c], 0.0)
        hands = np.where(live, v[:, -1], 0.0)
        if self.hands_m is not None:
            reaching = hands > 0
            arrays["hand_target_m"][reaching] = self.hands_m
            arrays["hand_weight"] = np.maximum(arrays["hand_weight"], hands)
            arrays["protraction"] += 0.6 * hands
