"""Motions: what a bend (or a bout of standing) does to the body, and when.

A motion goes from standing to its deepest posture and back: down (minimum-jerk),
hold, up. Each posture parameter follows the motion's progress p (0 standing … 1 deepest)
through its own easing exponent, so knees, hips and spine do not move in lock-step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from edge.synth.body import SynthBody, Track

Kind = Literal["hinge", "round", "squat", "stand"]
HipMode = Literal["balance", "over_feet"]
HandMode = Literal["object", "shelf", "hang"]

SUBTYPES: dict[str, tuple[str, ...]] = {
    "hinge": ("hip_hinge", "bent_knee_hinge"),
    "round": ("lumbar", "thoracic", "waist", "combo"),
    "squat": ("squat", "sit"),
    "stand": ("sway", "reach", "step", "dip"),
}
REASONS = ("lumbar_rounding", "waist_bend", "upper_back_rounding", "head_drop", "locked_knees")
# A region flexed this far past neutral is "rounded" (deg): the teaching cue, not a joint
# limit. Raising it names fewer reasons.
ROUNDING_DEG = 25.0
# The neck bent this far towards the chest is a head drop.
HEAD_DROP_DEG = 20.0
# Knees straighter than this during a bend are locked.
LOCKED_KNEE_DEG = 10.0

# Deepest-posture ranges per subtype (deg): the motion's depth 0.6…1.0 picks a point in
# each range (0.6 → low end, 1.0 → high end, with jitter).
_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    # A flat back keeps the lumbar curve and straightens the upper back a little (the
    # thoracic range reaches into extension), as hinging is taught.
    "hip_hinge": dict(trunk=(35, 90), knee=(10, 40), lumbar=(-5, 5), thoracic=(-15, 3),
                      neck=(-20, 8)),
    "bent_knee_hinge": dict(trunk=(45, 80), knee=(40, 70), lumbar=(-5, 5), thoracic=(-15, 3),
                            neck=(-20, 5)),
    "lumbar": dict(trunk=(45, 95), knee=(0, 30), lumbar=(30, 60), thoracic=(0, 15),
                   neck=(-5, 18)),
    "thoracic": dict(trunk=(40, 85), knee=(5, 30), lumbar=(0, 15), thoracic=(30, 60),
                     neck=(20, 45)),
    "waist": dict(trunk=(55, 100), knee=(0, 8), lumbar=(25, 45), thoracic=(10, 30),
                  neck=(5, 35)),
    "combo": dict(trunk=(50, 100), knee=(0, 35), lumbar=(25, 45), thoracic=(25, 40),
                  neck=(10, 40)),
    "squat": dict(trunk=(15, 45), knee=(90, 130), lumbar=(-5, 5), thoracic=(-10, 5),
                  neck=(-15, 8)),
    "sit": dict(trunk=(28, 45), knee=(80, 100), lumbar=(-3, 8), thoracic=(-3, 8),
                neck=(-10, 10)),
    "sway": dict(trunk=(-4, 8), knee=(0, 6), lumbar=(-3, 3), thoracic=(-3, 5), neck=(-10, 15)),
    "reach": dict(trunk=(-6, 8), knee=(0, 8), lumbar=(-5, 3), thoracic=(-3, 3), neck=(-20, 5)),
    "step": dict(trunk=(-2, 8), knee=(0, 10), lumbar=(-3, 3), thoracic=(-3, 3), neck=(-5, 10)),
    "dip": dict(trunk=(2, 12), knee=(8, 20), lumbar=(-3, 3), thoracic=(-3, 5), neck=(-5, 15)),
}


def reasons_of(kind: str, lumbar_deg: float, thoracic_deg: float, neck_deg: float,
               knee_deg: float, waist: bool = False) -> tuple[str, ...]:
    """The taught errors a bend with this deepest posture shows, in the canonical order."""
    found = {
        "lumbar_rounding": lumbar_deg >= ROUNDING_DEG,
        "waist_bend": waist,
        "upper_back_rounding": thoracic_deg >= ROUNDING_DEG,
        "head_drop": neck_deg >= HEAD_DROP_DEG,
        "locked_knees": kind == "round" and knee_deg < LOCKED_KNEE_DEG,
    }
    return tuple(r for r in REASONS if found[r])


def spine_kind(lumbar_deg: float, thoracic_deg: float) -> Kind:
    """What a bend's spine makes it when the legs do not make it a squat."""
    return "round" if max(lumbar_deg, thoracic_deg) >= ROUNDING_DEG else "hinge"


@dataclass(frozen=True)
class Motion:
    """One bend or bout of standing: its deepest posture (deg) and its timing (s).

    `hip_mode` "balance" pushes the hips back as far as balance needs; "over_feet" keeps
    them over the ankles (bending from the waist). `hand_mode` says where the hands go at
    the deepest point: down to an object, up to a shelf, or nowhere in particular.
    `lift` the hands hold something low and bring it up with the body.
    """

    kind: Kind
    subtype: str
    depth: float
    down_s: float
    hold_s: float
    up_s: float
    trunk_deg: float
    knee_deg: float
    lumbar_deg: float
    thoracic_deg: float
    neck_deg: float
    lift: bool = False
    hip_mode: HipMode = "balance"
    hand_mode: HandMode = "object"
    # Forward angle of the arms from straight down, and share of their length reached.
    reach_deg: float = 15.0
    reach_share: float = 0.9
    step_m: float = 0.0
    sway_deg: float = 0.0
    # Easing exponents (trunk, knee, spine, hands): p ** exponent.
    easing: tuple[float, float, float, float] = field(default=(1.0, 1.0, 1.0, 1.3))

    def __post_init__(self) -> None:
        if self.subtype not in SUBTYPES[self.kind]:
            raise ValueError(f"subtype: expected one of {SUBTYPES[self.kind]} for "
                             f"{self.kind!r}, got {self.subtype!r}")
        if not 0.0 <= self.depth <= 1.0:
            raise ValueError(f"depth: expected 0..1, got {self.depth}")
        for name in ("down_s", "hold_s", "up_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected ≥ 0, got {getattr(self, name)}")

    @property
    def duration_s(self) -> float:
        return self.down_s + self.hold_s + self.up_s

    @property
    def is_bend(self) -> bool:
        return self.kind != "stand"

    @property
    def reasons(self) -> tuple[str, ...]:
        """The taught errors this bend shows, in the canonical order."""
        if not self.is_bend:
            return ()
        return reasons_of(self.kind, self.lumbar_deg, self.thoracic_deg, self.neck_deg,
                          self.knee_deg, self.hip_mode == "over_feet")

    @classmethod
    def random(cls, rng: np.random.Generator, kind: Kind, subtype: str | None = None,
               depth: float | None = None, lift: bool | None = None) -> Motion:
        """A motion of `kind` with random subtype, depth 0.6–1.0 and speed 0.6–2.5 s."""
        if kind not in SUBTYPES:
            raise ValueError(f"kind: expected one of {sorted(SUBTYPES)}, got {kind!r}")
        if subtype is None:
            weights = {"round": (0.3, 0.25, 0.25, 0.2), "hinge": (0.65, 0.35)}.get(kind)
            options = SUBTYPES[kind]
            subtype = str(rng.choice(options, p=weights))
        d = float(rng.uniform(0.6, 1.0)) if depth is None else depth
        u = (d - 0.6) / 0.4
        ranges = _RANGES[subtype]

        def pick(key: str, follows_depth: bool) -> float:
            lo, hi = ranges[key]
            x = u + rng.normal(0.0, 0.2) if follows_depth else rng.uniform(0.0, 1.0)
            return float(lo + np.clip(x, 0.0, 1.0) * (hi - lo))

        is_bend = kind != "stand"
        squatty = kind == "squat"
        trunk = pick("trunk", is_bend)
        knee = pick("knee", squatty or subtype == "dip")
        lumbar = pick("lumbar", subtype in ("lumbar", "waist", "combo"))
        thoracic = pick("thoracic", subtype in ("thoracic", "combo"))
        neck = pick("neck", False)
        if lift is None:
            lift = is_bend and subtype != "sit" and bool(rng.random() < 0.3)
        hand_mode: HandMode = "object"
        if subtype == "reach":
            hand_mode = "shelf"
        elif subtype in ("sit", "sway", "step", "dip"):
            hand_mode = "hang"
        slow = float(rng.uniform(0.6, 2.5))
        return cls(
            kind=kind, subtype=subtype, depth=d,
            down_s=slow * float(rng.uniform(0.85, 1.15)),
            hold_s=float(rng.uniform(0.3, 1.5)) if is_bend else float(rng.uniform(0.5, 2.5)),
            up_s=slow * float(rng.uniform(0.8, 1.2)),
            trunk_deg=trunk, knee_deg=knee, lumbar_deg=lumbar, thoracic_deg=thoracic,
            neck_deg=neck, lift=bool(lift),
            hip_mode="over_feet" if subtype == "waist" else "balance",
            hand_mode=hand_mode,
            reach_deg=float(rng.uniform(0.0, 35.0)), reach_share=float(rng.uniform(0.8, 0.97)),
            step_m=float(rng.uniform(0.2, 0.35)) if subtype == "step" else 0.0,
            sway_deg=float(rng.uniform(2.0, 6.0)) if subtype == "sway" else 0.0,
            easing=(float(rng.uniform(0.85, 1.2)),
                    float(rng.uniform(0.6, 1.0)) if kind == "hinge" else float(
                        rng.uniform(0.85, 1.2)),
                    float(rng.uniform(0.8, 1.3)), float(rng.uniform(1.1, 1.8))),
        )


def progress(t_s: np.ndarray, start_s: float, m: Motion) -> np.ndarray:
    """The motion's progress (0 standing … 1 deepest) at times `t_s`: minimum-jerk down,
    hold, minimum-jerk up."""
    def ease(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        return x**3 * (10 - 15 * x + 6 * x * x)

    t = t_s - start_s
    down = ease(t / max(m.down_s, 1e-3))
    up = 1.0 - ease((t - m.down_s - m.hold_s) / max(m.up_s, 1e-3))
    p = np.where(t < m.down_s, down, np.where(t < m.down_s + m.hold_s, 1.0, up))
    return np.clip(np.where((t < 0) | (t > m.duration_s), 0.0, p), 0.0, 1.0)


@dataclass(frozen=True)
class Stance:
    """How a person stands: feet half-width, toes turned out, and their standing habits."""

    half_width_m: float
    toe_out_deg: float
    trunk_deg: float
    neck_deg: float

    @classmethod
    def random(cls, rng: np.random.Generator, body: SynthBody) -> Stance:
        return cls(
            half_width_m=body.hip_half_width_m + float(rng.uniform(0.0, 0.1)) * body.s,
            toe_out_deg=float(rng.uniform(5.0, 25.0)),
            trunk_deg=float(rng.uniform(-2.0, 3.0)),
            neck_deg=float(rng.uniform(-8.0, 8.0)),
        )


def standing_track(n: int, body: SynthBody, stance: Stance) -> dict[str, np.ndarray]:
    """Arrays of a still, upright person (the base every motion adds onto)."""
    ankles = np.zeros((n, 2, 3))
    ankles[:, :, 1] = body.ankle_height_m
    ankles[:, 0, 2], ankles[:, 1, 2] = -stance.half_width_m, stance.half_width_m
    return dict(
        trunk_deg=np.full(n, stance.trunk_deg), lumbar_deg=np.zeros(n),
        thoracic_deg=np.zeros(n), neck_deg=np.full(n, stance.neck_deg), head_deg=np.zeros(n),
        knee_deg=np.zeros(n), shank_deg=np.zeros(n), lean_deg=np.zeros(n),
        twist_deg=np.zeros(n), protraction=np.zeros(n), ankles_m=ankles,
        hand_target_m=np.zeros((n, 2, 3)), hand_weight=np.zeros(n), carry_weight=np.zeros(n),
    )


def track_from(arrays: dict[str, np.ndarray], stance: Stance) -> Track:
    """A `Track` from `standing_track`-style arrays."""
    return Track(toe_out_deg=stance.toe_out_deg, **arrays)
