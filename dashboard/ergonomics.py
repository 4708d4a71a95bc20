"""Posture bands from the standards the reports quote.

REBA (Hignett & McAtamney 2000) scores the trunk by its flexion: upright 1, 0-20° 2,
20-60° 3, beyond 60° 4 (extension: 0-20° 2, beyond 20° 3). ISO 11226 calls trunk
inclination beyond 60° not acceptable for static postures, so "time deeply bent" is the
time spent beyond 60°, which each event measures as `time_beyond_60_deg_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Within this many degrees of vertical a trunk counts as upright (REBA score 1); REBA
# draws no number, and a camera estimate wobbles by a few degrees.
UPRIGHT_DEG = 5.0
DEEP_BEND_DEG = 60.0


@dataclass(frozen=True)
class RebaBand:
    score: int
    label: str
    advice: str


REBA_TRUNK_BANDS: tuple[RebaBand, ...] = (
    RebaBand(1, "upright (within 5°)", "no action"),
    RebaBand(2, "0–20° forward, or leaning back up to 20°", "low risk"),
    RebaBand(3, "20–60° forward, or leaning back beyond 20°", "medium: keep it short"),
    RebaBand(4, "beyond 60° forward (ISO 11226: not acceptable when held)",
             "high: hinge at the hips, bring the work closer or higher"),
)


def reba_trunk_score(peak_trunk_inclination_deg: float) -> int:
    """REBA trunk score (1-4) of a trunk inclination; negative is leaning back."""
    deg = peak_trunk_inclination_deg
    if abs(deg) < UPRIGHT_DEG:
        return 1
    if deg < 0:
        return 2 if deg >= -20.0 else 3
    if deg <= 20.0:
        return 2
    if deg <= DEEP_BEND_DEG:
        return 3
    return 4
