"""Confidence that means what it says: the classifier's raw score mapped to how often a
verdict with that score is right.

The map is isotonic (never decreasing), fitted by pool-adjacent-violators on verdicts of
known truth — the synthetic household with its hard cases and the recorded rendered
people, never the fixtures — and stored as knots in `confidence_map.json` beside this file,
with the command that made it. At run time it is one `numpy.interp`.
Refit with `python -m edge.analysis.confidence` after a change to the classifier.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

MAP_PATH = Path(__file__).with_name("confidence_map.json")
# Verdicts of a posture are calibrated apart when at least this many were seen; fewer share
# the map of all postures.
MIN_ITEMS_PER_POSTURE = 40


@dataclass(frozen=True)
class ConfidenceMap:
    """Knots (raw score → probability right) per posture, and for all postures together."""

    knots: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]

    def __call__(self, posture: str, raw: float) -> float:
        x, y = self.knots.get(posture, self.knots["all"])
        return float(np.interp(raw, x, y))


def isotonic(raw: Sequence[float], right: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Pool adjacent violators: the non-decreasing step function of `raw` closest (least
    squares) to the 0/1 outcomes; returned as knots at each block's mean score."""
    order = np.argsort(raw, kind="stable")
    x = np.asarray(raw, float)[order]
    y = np.asarray(right, float)[order]
    # Blocks: [sum_y, count, sum_x]; merge while a block's mean exceeds the next one's.
    blocks: list[list[float]] = []
    for xi, yi in zip(x, y, strict=True):
        blocks.append([yi, 1.0, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n, sx = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][2] += sx
    kx = np.array([b[2] / b[1] for b in blocks])
    ky = np.array([b[0] / b[1] for b in blocks])
    return kx, ky


def fit(items: Sequence[tuple[str, float, bool]]) -> ConfidenceMap:
    """A map from (posture, raw score, right) triples."""
    knots: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    groups: dict[str, list[tuple[float, bool]]] = {"all": [(r, ok) for _, r, ok in items]}
    for posture, r, ok in items:
        groups.setdefault(posture, []).append((r, ok))
    for name, pairs in groups.items():
        if name != "all" and len(pairs) < MIN_ITEMS_PER_POSTURE:
            continue
        kx, ky = isotonic([p[0] for p in pairs], [p[1] for p in pairs])
        # Keep a probability off 0 and 1: a handful of items never proves certainty.
        n = len(pairs)
        ky = np.clip(ky, 1.0 / (n + 2), 1.0 - 1.0 / (n + 2))
        knots[name] = (tuple(round(float(v), 4) for v in kx),
                       tuple(round(float(v), 4) for v in ky))
    return ConfidenceMap(knots)


@cache
def stored_map() -> ConfidenceMap | None:
    """The fitted map, or None before one was made (raw scores are then used as they are)."""
    if not MAP_PATH.is_file():
        return None
    data = json.loads(MAP_PATH.read_text())
    return ConfidenceMap({k: (tuple(v["raw"]), tuple(v["right"]))
                          for k, v in data["knots"].items()})


def calibrated(posture: str, raw: float) -> float:
    m = stored_map()
    return raw if m is None else m(posture, raw)
