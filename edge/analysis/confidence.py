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


def isotonic(raw: Sequence[float], right: Sequence[bool],
             weight: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pool adjacent violators: the non-decreasing step function of `raw` closest (weighted
    least squares) to the 0/1 outcomes, as knots: each plateau's first and last score."""
    xs, inverse = np.unique(np.asarray(raw, float), return_inverse=True)
    w = np.ones(len(inverse)) if weight is None else np.asarray(weight, float)
    sums = np.bincount(inverse, weights=np.asarray(right, float) * w)
    counts = np.bincount(inverse, weights=w)
    # Blocks of [sum right, count, lowest score, highest score], merged while a block's
    # rate exceeds the next one's.
    blocks: list[list[float]] = []
    for x, s, n in zip(xs, sums, counts, strict=True):
        blocks.append([s, n, x, x])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s2, n2, _, hi = blocks.pop()
            blocks[-1][0] += s2
            blocks[-1][1] += n2
            blocks[-1][3] = hi
    kx: list[float] = []
    ky: list[float] = []
    for s, n, lo, hi in blocks:
        if ky and ky[-1] == s / n:
            # The same rate goes on: one plateau, kept as its first and last knot.
            if len(ky) >= 2 and ky[-2] == ky[-1]:
                kx[-1] = hi
            else:
                kx.append(hi)
                ky.append(s / n)
            continue
        for x in ((lo,) if lo == hi else (lo, hi)):
            kx.append(x)
            ky.append(s / n)
    return np.asarray(kx), np.asarray(ky)


def fit(items: Sequence[tuple[str, float, bool]],
        weights: Sequence[float] | None = None) -> ConfidenceMap:
    """A map from (posture, raw score, right) triples, each item weighing `weights[i]` (1)."""
    knots: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    ws = [1.0] * len(items) if weights is None else list(weights)
    if len(ws) != len(items):
        raise ValueError(f"fit: {len(items)} items but {len(ws)} weights")
    groups: dict[str, list[tuple[float, bool, float]]] = {"all": []}
    for (posture, r, ok), w in zip(items, ws, strict=True):
        groups["all"].append((r, ok, w))
        groups.setdefault(posture, []).append((r, ok, w))
    for name, pairs in groups.items():
        if name != "all" and len(pairs) < MIN_ITEMS_PER_POSTURE:
            continue
        kx, ky = isotonic([p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs])
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
