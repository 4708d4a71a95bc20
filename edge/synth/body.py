"""The synthetic body: its sizes, its posture parameters per frame, and what forward
kinematics makes of them (`edge.synth.forward`).

Body frame: metres, origin on the floor between the feet, x forward (the way the person
faces), y up, z to the person's right. Tracks and skeletons hold one row per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REFERENCE_HEIGHT_M = 1.75
# Loose clothes stand off the back by up to 3σ (m); raising it blurs the back's outline.
CLOTHING_SIGMA_M = 0.006


@dataclass(frozen=True)
class SynthBody:
    """One person's size. Lengths follow standard anthropometric shares of height.

    `girth` scales the trunk's depth and width and the limbs' thickness (1 = average);
    `belly` scales the abdomen's depth; the `*_scale` fields vary proportions (±5 %);
    `clothing_m` loose clothes over the back at the four trunk stations (m, + = out).
    """

    height_m: float = REFERENCE_HEIGHT_M
    girth: float = 1.0
    belly: float = 1.0
    leg_scale: float = 1.0
    trunk_scale: float = 1.0
    arm_scale: float = 1.0
    shoulder_scale: float = 1.0
    hip_scale: float = 1.0
    clothing_m: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if not 1.2 <= self.height_m <= 2.2:
            raise ValueError(f"height_m: expected 1.2..2.2, got {self.height_m}")
        for name in ("girth", "belly"):
            v = getattr(self, name)
            if not 0.6 <= v <= 1.8:
                raise ValueError(f"{name}: expected 0.6..1.8, got {v}")
        for name in ("leg_scale", "trunk_scale", "arm_scale", "shoulder_scale", "hip_scale"):
            v = getattr(self, name)
            if not 0.8 <= v <= 1.2:
                raise ValueError(f"{name}: expected 0.8..1.2, got {v}")

    @classmethod
    def random(cls, rng: np.random.Generator) -> SynthBody:
        """Height 1.5–1.95 m, proportions ±5 %, girth 0.85–1.25."""
        cloth = [float(v) for v in np.clip(rng.normal(0.0, CLOTHING_SIGMA_M, 4), 0.0,
                                           3 * CLOTHING_SIGMA_M)]
        return cls(
            height_m=float(rng.uniform(1.5, 1.95)),
            girth=float(rng.uniform(0.85, 1.25)),
            belly=float(rng.uniform(0.9, 1.25)),
            leg_scale=float(rng.uniform(0.95, 1.05)),
            trunk_scale=float(rng.uniform(0.95, 1.05)),
            arm_scale=float(rng.uniform(0.95, 1.05)),
            shoulder_scale=float(rng.uniform(0.95, 1.05)),
            hip_scale=float(rng.uniform(0.95, 1.05)),
            clothing_m=(cloth[0], cloth[1], cloth[2], cloth[3]),
        )

    @property
    def s(self) -> float:
        """Size over the reference body."""
        return self.height_m / REFERENCE_HEIGHT_M

    @property
    def thigh_m(self) -> float:
        return 0.245 * self.height_m * self.leg_scale

    @property
    def shank_m(self) -> float:
        return 0.246 * self.height_m * self.leg_scale

    @property
    def leg_m(self) -> float:
        return self.thigh_m + self.shank_m

    @property
    def ankle_height_m(self) -> float:
        return 0.039 * self.height_m

    @property
    def upper_arm_m(self) -> float:
        return 0.186 * self.height_m * self.arm_scale

    @property
    def forearm_m(self) -> float:
        return 0.146 * self.height_m * self.arm_scale

    @property
    def hip_half_width_m(self) -> float:
        return 0.092 * self.s * self.hip_scale * (0.8 + 0.2 * self.girth)

    @property
    def shoulder_half_width_m(self) -> float:
        return 0.175 * self.s * self.shoulder_scale * (0.85 + 0.15 * self.girth)

    def spine_lengths_m(self) -> tuple[float, float, float]:
        """Lumbar, thoracic and cervical chain lengths."""
        k = self.height_m * self.trunk_scale
        return 0.100 * k, 0.165 * k, 0.060 * k


@dataclass(frozen=True)
class Track:
    """Posture parameters per frame, each an (n,) array unless noted (degrees, metres).

    - trunk_deg: hip-midpoint→shoulder-midpoint against vertical, forward positive;
    - lumbar_deg, thoracic_deg, neck_deg: flexion added to each region's neutral curve;
    - head_deg: nod of the head on the top of the neck;
    - knee_deg: knee flexion; shank_deg: shank against vertical, knee forward positive;
    - lean_deg, twist_deg: sideways lean and turn of the pelvis (sway);
    - protraction: 0..1, shoulders forward (reaching, rounding);
    - ankles_m: (n, 2, 3) left and right ankle in the body frame;
    - toe_out_deg: each foot turned out by this much (knees follow the toes);
    - hand_target_m: (n, 2, 3) where the hands go with weight `hand_weight` (0 = let
      them hang; `carry_weight` 0..1 blends hanging into holding something at the waist).
    """

    trunk_deg: np.ndarray
    lumbar_deg: np.ndarray
    thoracic_deg: np.ndarray
    neck_deg: np.ndarray
    head_deg: np.ndarray
    knee_deg: np.ndarray
    shank_deg: np.ndarray
    lean_deg: np.ndarray
    twist_deg: np.ndarray
    protraction: np.ndarray
    ankles_m: np.ndarray
    toe_out_deg: float
    hand_target_m: np.ndarray
    hand_weight: np.ndarray
    carry_weight: np.ndarray

    def __post_init__(self) -> None:
        n = self.trunk_deg.shape[0]
        for name in ("lumbar_deg", "thoracic_deg", "neck_deg", "head_deg", "knee_deg",
                     "shank_deg", "lean_deg", "twist_deg", "protraction", "hand_weight",
                     "carry_weight"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},), got {getattr(self, name).shape}")
        for name in ("ankles_m", "hand_target_m"):
            if getattr(self, name).shape != (n, 2, 3):
                raise ValueError(f"{name}: expected shape ({n}, 2, 3), "
                                 f"got {getattr(self, name).shape}")

    @property
    def n(self) -> int:
        return int(self.trunk_deg.shape[0])


@dataclass(frozen=True)
class Skeleton:
    """All frames' 3D body in the body frame.

    `rings_m` (n, R, K, 3): trunk cross-sections from the buttocks up to T1;
    `capsules` a tuple of (start (n, 3), end (n, 3), start radius, end radius) in metres for
    limbs, neck, head and props; `com_m` (n, 3) the centre of mass; the last
    `erase_count` capsules cut holes into the silhouette instead (a broken mask).
    """

    joints_m: np.ndarray
    rings_m: np.ndarray
    capsule_start_m: np.ndarray
    capsule_end_m: np.ndarray
    capsule_radius_m: np.ndarray  # (C, 2)
    com_m: np.ndarray
    head_forward: np.ndarray  # (n, 3): where the face points
    erase_count: int = 0
