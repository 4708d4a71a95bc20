"""Accuracy on the synthetic household: many bodies, bends and camera yaws, true labels.

The figures are scored exactly as `hingewatch eval` scores labelled clips (a bend counts
when its deepest moment falls inside a labelled bend), overall and for the bends seen
within ±45° of a side view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.analysis.evaluation import (
    NEAR_SIDE_DEG,
    LabelRow,
    Tally,
    detections,
    near_side_figures,
)
from edge.events import ACT_ON_CONFIDENCE
from edge.synth.cases import CASES, PLAIN
from edge.synth.clip import Clip, make_clip

BENDS_PER_CLIP = 3


def analyze_clip(clip: Clip) -> tuple[list[LabelRow], list[AnalyzedBend]]:
    """A clip's labels as eval rows, and the bends the analysis found in it."""
    rows = [LabelRow(0, Path("synthetic"), lab.start_s, lab.end_s, lab.posture)
            for lab in clip.labels]
    return rows, BendAnalyzer().run((i / clip.fps, pose) for i, pose in enumerate(clip.poses))


def evaluate_synthetic(
    bends: int = 600,
    seed: int = 0,
    yaw_range_deg: tuple[float, float] = (-60.0, 60.0),
    step: Callable[[], None] = lambda: None,
    hard: bool = False,
) -> dict[str, Any]:
    """Figures for `bends` synthetic bends (plus one standing spell per clip); `hard`
    draws the hard cases (`edge.synth.cases`) and adds figures per case."""
    rng = np.random.default_rng(seed)
    overall, near_side = Tally(), Tally()
    per_case: dict[str, Tally] = defaultdict(Tally)
    lift = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for _ in range(max(1, -(-bends // BENDS_PER_CLIP))):
        clip = make_clip(rng, n_bends=BENDS_PER_CLIP, yaw_range_deg=yaw_range_deg, n_stands=1,
                         hard=hard)
        rows, found = analyze_clip(clip)
        detected = detections(found)
        for lab in clip.labels:
            match = [b for b in found if lab.start_s <= b.bend.deepest.kin.t_s <= lab.end_s]
            if match:
                said = match[0].lift
                lift["tp" if said and lab.lift else "fn" if lab.lift else
                     "fp" if said else "tn"] += 1
        overall.video(rows, detected)
        if hard:
            # A case's figures hold its clips whole: false bends (a seated spell, standing
            # up) count against the case that made them.
            for case in clip.cases or (PLAIN,):
                per_case[case].video(rows, detected)
        near = [r for r, lab in zip(rows, clip.labels, strict=True)
                if abs(lab.view_yaw_deg) <= NEAR_SIDE_DEG]
        # Detections that match no near-side label are scored in `overall` only.
        near_side.video(near, [d for d in detected
                               if any(r.start_s is not None and r.end_s is not None
                                      and r.start_s <= d.t_s <= r.end_s for r in near)])
        step()
    summary = overall.summary()
    summary["yaw_range_deg"] = list(yaw_range_deg)
    summary["lift"] = {
        **lift,
        "recall": round(lift["tp"] / max(lift["tp"] + lift["fn"], 1), 4),
        "precision": round(lift["tp"] / max(lift["tp"] + lift["fp"], 1), 4),
    }
    summary["near_side"] = near_side_figures(near_side)
    if hard:
        summary["hard"] = True
        summary["cases"] = {c: _case_figures(per_case[c]) for c in (PLAIN, *CASES)
                            if c in per_case}
    return summary


def _case_figures(tally: Tally) -> dict[str, Any]:
    s = tally.summary()
    keys = ("items_labelled", "balanced_accuracy", "coverage", "confident_balanced_accuracy",
            "detection_recall", "detection_precision", "confusion")
    sure = [o for o in tally.outcomes
            if o.covered and o.confidence is not None and o.confidence >= ACT_ON_CONFIDENCE]
    return {
        **{k: s[k] for k in keys},
        # Wrong verdicts said with confidence, and the one the product must never say.
        "wrong_confident": sum(not o.right for o in sure),
        "hinge_called_round_confident": s["hinge_called_round_confident"],
    }
