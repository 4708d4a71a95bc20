"""What real pictures add around a person's back, drawn into the synthetic mask.

Issue 9 read the real failures off the sheets: something along the upper back (a bar
across the shoulders, a child on one shoulder, a backpack, a hood or long hair) bulges
the mask's dorsal outline near the shoulders; hands and arms held on or against the trunk
merge with its outline; the silhouette merges with furniture or another body, or breaks
(holes, a bite out of the back). None of it changes what the spine does: the labels stay.

Props are capsules carried by the trunk's cross-sections (`Skeleton.rings_m`); hands that
hold something go where a first kinematics pass puts it; a broken mask is capsules that
cut the silhouette (`Skeleton.erase_count`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge.pose.landmarks import Joint
from edge.synth.body import Skeleton, SynthBody, Track

PROPS = ("bar", "child", "backpack", "hood", "hair")
# Where the arms go: hands on the thighs, on the back of the hips, on the belly, or left
# hanging (close along the trunk in a shallow bend).
ARMS = ("thighs", "hips", "belly", "hang")
MERGES = ("blob", "person")
# Ring indices of the trunk's cross-sections (0 the pelvis, then spine points 0…11 = T1)
# and the points of each ring: front, right, back, left.
_MID_BACK, _LOW_THORACIC, _T1 = 8, 7, 12
_FRONT, _RIGHT, _BACK, _LEFT = 0, 3, 6, 9
_UP = np.array([0.0, 1.0, 0.0])
# The merged body stays where the back was deepest within this many seconds (s).
MERGE_WINDOW_S = 3.0

Capsule = tuple[np.ndarray, np.ndarray, float, float]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class TrunkFrame:
    """At one cross-section, per frame: its back point, and the dorsal, lateral (to the
    right) and upward (along the spine) unit vectors."""

    back: np.ndarray
    front: np.ndarray
    dorsal: np.ndarray
    right: np.ndarray
    up: np.ndarray

    @classmethod
    def at(cls, skel: Skeleton, ring: int) -> TrunkFrame:
        r = skel.rings_m[:, ring]
        dorsal = _unit(r[:, _BACK] - r[:, _FRONT])
        right = _unit(r[:, _RIGHT] - r[:, _LEFT])
        return cls(r[:, _BACK], r[:, _FRONT], dorsal, right, _unit(np.cross(dorsal, right)))


@dataclass(frozen=True)
class Outfit:
    """One clip's props and arms. `size` scales the prop (child's height in m, pack depth
    share, hood/hair thickness); `plates_m` a bar's plate radius (0: a bare bar or a
    broom); `side` the child's shoulder (−1 left, +1 right); `grip_m` half the hands'
    spread on the bar."""

    prop: str | None = None
    arms: str | None = None
    merged: str | None = None
    broken: bool = False
    size: float = 1.0
    plates_m: float = 0.0
    side: int = 1
    grip_m: float = 0.35
    seed: int = 0

    def __post_init__(self) -> None:
        for name, options in (("prop", PROPS), ("arms", ARMS), ("merged", MERGES)):
            v = getattr(self, name)
            if v is not None and v not in options:
                raise ValueError(f"{name}: expected one of {options} or None, got {v!r}")
        if self.prop in ("bar", "child") and self.arms is not None:
            raise ValueError(f"arms: the hands hold the {self.prop}, got arms={self.arms!r}")

    @classmethod
    def random(cls, rng: np.random.Generator, prop: str | None = None, arms: bool = False,
               merged: bool = False, broken: bool = False) -> Outfit:
        size = {"bar": 1.0, "child": float(rng.uniform(0.85, 1.15)),
                "backpack": float(rng.uniform(0.0, 1.0)),
                "hood": float(rng.uniform(0.7, 1.0)),
                "hair": float(rng.uniform(0.6, 1.0))}.get(prop or "", 1.0)
        return cls(
            prop=prop,
            arms=str(rng.choice(ARMS)) if arms else None,
            merged=str(rng.choice(MERGES)) if merged else None,
            broken=broken, size=size,
            plates_m=float(rng.uniform(0.1, 0.225)) if rng.random() < 0.6 else 0.0,
            side=1 if rng.random() < 0.5 else -1,
            grip_m=float(rng.uniform(0.25, 0.45)),
            seed=int(rng.integers(2**31)),
        )

    @property
    def holds_hands(self) -> bool:
        """The hands are busy all clip long (no lifting)."""
        return self.prop in ("bar", "child") or self.arms is not None

    def hold(self, track: Track, skel: Skeleton, body: SynthBody) -> Track:
        """`track` with the hands on the bar, the child or the trunk (from a first pass)."""
        if not self.holds_hands:
            return track
        n = track.n
        if self.arms == "hang":
            return replace(track, hand_weight=np.zeros(n), carry_weight=np.zeros(n))
        s = body.s
        j = skel.joints_m
        targets = np.array(track.hand_target_m)
        spread = np.array([-1.0, 1.0])[None, :, None]
        if self.prop == "bar":
            top = TrunkFrame.at(skel, _T1)
            centre = self._bar_centre(top, s)
            targets = centre[:, None] + spread * top.right[:, None] * self.grip_m * s
        elif self.prop == "child":
            holding = 1 if self.side > 0 else 0
            free = (Joint.LEFT_WRIST, Joint.RIGHT_WRIST)[1 - holding]
            targets[:, 1 - holding] = j[:, free]
            targets[:, holding] = self._child(skel, body)[3][1]  # the front shank's foot
        elif self.arms == "thighs":
            pelvis = TrunkFrame.at(skel, 0)
            for k, (hip, knee) in enumerate(((Joint.LEFT_HIP, Joint.LEFT_KNEE),
                                             (Joint.RIGHT_HIP, Joint.RIGHT_KNEE))):
                targets[:, k] = (j[:, hip] + 0.7 * (j[:, knee] - j[:, hip])
                                 - pelvis.dorsal * 0.06 * s)
        elif self.arms == "hips":
            low = TrunkFrame.at(skel, 2)
            targets = (low.back[:, None] + low.dorsal[:, None] * 0.03 * s
                       + spread * low.right[:, None] * 0.10 * s)
        else:  # belly
            waist = TrunkFrame.at(skel, 5)
            targets = (waist.front[:, None] - waist.dorsal[:, None] * 0.04 * s
                       + spread * waist.right[:, None] * 0.06 * s)
        return replace(track, hand_target_m=targets, hand_weight=np.ones(n),
                       carry_weight=np.zeros(n))

    def attach(self, skel: Skeleton, body: SynthBody, fps: float) -> Skeleton:
        """`skel` with the prop's capsules, the merged body and the mask's cuts added."""
        rng = np.random.default_rng(self.seed)
        caps: list[Capsule] = []
        s = body.s
        if self.prop == "bar":
            caps += self._bar(skel, s)
        elif self.prop == "child":
            caps += self._child(skel, body)
        elif self.prop == "backpack":
            depth = (0.08 + 0.12 * self.size) * s  # a slim bag to a full daypack
            lo, hi = TrunkFrame.at(skel, _LOW_THORACIC), TrunkFrame.at(skel, _T1)
            for k in (-1.0, 1.0):
                caps.append((lo.back + lo.dorsal * depth / 2 + lo.right * k * 0.08 * s,
                             hi.back + hi.dorsal * depth / 2 - hi.up * 0.02 * s
                             + hi.right * k * 0.08 * s, depth / 2, depth / 2))
        elif self.prop in ("hood", "hair"):
            caps.append(self._nape(skel, s))
        if self.merged is not None:
            caps += self._merged(skel, s, fps, rng)
        erasers = self._cuts(skel, s, rng) if self.broken else []
        caps += erasers
        if not caps:
            return skel
        n = skel.joints_m.shape[0]
        starts = np.stack([np.broadcast_to(c[0], (n, 3)) for c in caps], axis=1)
        ends = np.stack([np.broadcast_to(c[1], (n, 3)) for c in caps], axis=1)
        radii = np.array([[c[2], c[3]] for c in caps])
        return replace(
            skel,
            capsule_start_m=np.concatenate([skel.capsule_start_m, starts], axis=1),
            capsule_end_m=np.concatenate([skel.capsule_end_m, ends], axis=1),
            capsule_radius_m=np.concatenate([skel.capsule_radius_m, radii], axis=0),
            erase_count=skel.erase_count + len(erasers),
        )

    @staticmethod
    def _bar_centre(top: TrunkFrame, s: float) -> np.ndarray:
        # On the trapezius, just above the shoulder blades.
        return top.back + top.dorsal * 0.035 * s + top.up * 0.01 * s

    def _bar(self, skel: Skeleton, s: float) -> list[Capsule]:
        top = TrunkFrame.at(skel, _T1)
        centre = self._bar_centre(top, s)
        half = 1.1 if self.plates_m else 0.6  # a barbell, or a broomstick / light bar
        caps: list[Capsule] = [(centre - top.right * half, centre + top.right * half,
                                0.016, 0.016)]
        if self.plates_m:
            for k in (-1.0, 1.0):
                caps.append((centre + top.right * k * 0.8, centre + top.right * k * 0.9,
                             self.plates_m, self.plates_m))
        return caps

    def _child(self, skel: Skeleton, body: SynthBody) -> list[Capsule]:
        """A child astride one shoulder: trunk, head, arms round the adult's head, one leg
        down the chest and one down the back. The front leg comes fourth (its end is the
        foot the adult's hand holds)."""
        s, c = body.s, self.size
        top = TrunkFrame.at(skel, _T1)
        j = skel.joints_m
        shoulder = j[:, Joint.RIGHT_SHOULDER if self.side > 0 else Joint.LEFT_SHOULDER]
        seat = shoulder + top.up * 0.05 * s
        up = _unit(top.up + _UP)  # the child balances: halfway to upright
        pelvis = seat + up * 0.06 * c
        neck = pelvis + up * 0.30 * c
        head = neck + up * 0.11 * c
        ears = (j[:, Joint.LEFT_EAR] + j[:, Joint.RIGHT_EAR]) / 2
        front_knee = seat - top.dorsal * 0.18 * c
        back_knee = seat + top.dorsal * 0.18 * c
        return [
            (pelvis, neck, 0.085 * c, 0.075 * c),
            (head, head + up * 0.01, 0.09 * c, 0.09 * c),
            (neck - up * 0.03, ears, 0.03 * c, 0.03 * c),
            (front_knee, front_knee - top.up * 0.22 * c, 0.04 * c, 0.032 * c),
            (seat, front_knee, 0.05 * c, 0.045 * c),
            (seat, back_knee, 0.05 * c, 0.045 * c),
            (back_knee, back_knee - top.up * 0.22 * c, 0.04 * c, 0.032 * c),
        ]

    def _nape(self, skel: Skeleton, s: float) -> Capsule:
        """A hood bunched on the nape, or long hair hanging from the back of the head."""
        top = TrunkFrame.at(skel, _T1)
        j = skel.joints_m
        back_of_head = ((j[:, Joint.LEFT_EAR] + j[:, Joint.RIGHT_EAR]) / 2
                        - skel.head_forward * 0.07 * s)
        if self.prop == "hood":
            r = 0.09 * self.size * s  # a bunched hood: 6–9 cm round the nape
            return (top.back + top.dorsal * 0.02 * s, back_of_head, r, r * 0.8)
        root = back_of_head + top.up * 0.02 * s
        # Hair falls mostly with gravity, partly along the back of the neck.
        fall = _unit(-0.6 * _UP - 0.4 * top.up)
        length = (0.2 + 0.2 * self.size) * s
        return (root, root + fall * length, 0.055 * self.size * s, 0.03 * s)

    def _merged(self, skel: Skeleton, s: float, fps: float,
                rng: np.random.Generator) -> list[Capsule]:
        """Furniture or another body touching the back where it is deepest nearby; it
        stays put (the room's, not the person's) between those moments."""
        j = skel.joints_m
        trunk = (j[:, Joint.LEFT_SHOULDER] + j[:, Joint.RIGHT_SHOULDER]
                 - j[:, Joint.LEFT_HIP] - j[:, Joint.RIGHT_HIP]) / 2
        incl = np.degrees(np.arctan2(np.hypot(trunk[:, 0], trunk[:, 2]), trunk[:, 1]))
        n = len(incl)
        half = max(1, int(MERGE_WINDOW_S * fps))
        anchor = np.array([lo + int(np.argmax(incl[lo:hi])) for lo, hi in
                           ((max(0, i - half), min(n, i + half + 1)) for i in range(n))])
        if self.merged == "blob":
            mid = TrunkFrame.at(skel, _MID_BACK)
            r = float(rng.uniform(0.12, 0.25)) * s
            gap = float(rng.uniform(-0.03, 0.01)) * s
            at = mid.back[anchor] + mid.dorsal[anchor] * (r + gap)
            side = mid.right[anchor] * 0.2 * s
            return [(at - side, at + side, r, r)]
        pelvis = TrunkFrame.at(skel, 0)
        away = pelvis.dorsal[anchor] * np.array([1.0, 0.0, 1.0])
        r = float(rng.uniform(0.15, 0.22)) * s
        foot = pelvis.back[anchor] + _unit(away) * (r + float(rng.uniform(0.0, 0.06)) * s)
        foot[:, 1] = 0.1
        return [(foot, foot + _UP * 1.45, r, r * 0.9),
                (foot + _UP * 1.55, foot + _UP * 1.6, 0.1, 0.1)]

    def _cuts(self, skel: Skeleton, s: float, rng: np.random.Generator) -> list[Capsule]:
        """A bite out of the back's outline and a few holes inside the trunk."""
        a = int(rng.integers(3, 7))
        b = min(a + int(rng.integers(3, 6)), _T1 - 1)
        lo, hi = TrunkFrame.at(skel, a), TrunkFrame.at(skel, b)
        r = float(rng.uniform(0.03, 0.05)) * s
        out = float(rng.uniform(-0.01, 0.02)) * s
        cuts: list[Capsule] = [(lo.back + lo.dorsal * out, hi.back + hi.dorsal * out, r, r)]
        for _ in range(int(rng.integers(1, 4))):
            ring = skel.rings_m[:, int(rng.integers(2, _T1))]
            centre = ring.mean(axis=1) + (ring[:, _RIGHT] - ring[:, _LEFT]) * float(
                rng.uniform(-0.3, 0.3))
            h = float(rng.uniform(0.015, 0.035)) * s
            cuts.append((centre, centre, h, h))
        return cuts
