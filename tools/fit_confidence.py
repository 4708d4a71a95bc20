"""Fit the classifier's confidence map (edge/analysis/confidence_map.json).

The recipe, reproducible: run the classifier on bends of known truth — the synthetic
household, plain and with its hard cases (seeds other than the ones tests/metrics.json
holds), and the recorded rendered people of tests/data/rendered/benchmark.json — and fit
an isotonic map from its raw score to how often it was right, the two sources weighing the
same. Never the fixtures: they judge, they do not teach.
Usage: .venv/bin/python tools/fit_confidence.py [--bends N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.analysis import confidence  # noqa: E402
from edge.analysis.evaluation import Outcome, Tally, detections, verdict_of  # noqa: E402
from edge.analysis.recorded_eval import evaluate_recorded  # noqa: E402
from edge.synth.clip import make_clip  # noqa: E402
from edge.synth.evaluate import analyze_clip  # noqa: E402

# Seeds apart from the held figures' (0): the map must not learn the test.
SYNTH_SEEDS = (101, 102)
RECORDED = ROOT / "tests" / "data" / "rendered"


def synthetic_outcomes(bends: int, seed: int, hard: bool) -> list[Outcome]:
    rng = np.random.default_rng(seed)
    tally = Tally()
    for _ in range(max(1, bends // 3)):
        rows, found = analyze_clip(make_clip(rng, n_bends=3, n_stands=1, hard=hard))
        tally.video(rows, detections(found))
    return tally.outcomes


def recorded_outcomes() -> list[Outcome]:
    # The benchmark's parts (not the starter renders: they judge in tests, they do not teach;
    # nor set1's rounds, whose backs look straight: see benchmark.json).
    return evaluate_recorded(RECORDED / "benchmark.json").outcomes


def verdict_items(outcomes: list[Outcome]) -> list[tuple[str, float, bool]]:
    """(posture, raw score, right) of each verdict: what the rules said, before calibration
    turned unlikely verdicts into unsure ones."""
    return [(v.rules_posture, v.score, v.rules_posture == o.truth) for o in outcomes
            if (v := verdict_of(o.detail)) is not None
            and v.rules_posture not in (None, "unsure")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bends", type=int, default=600, help="synthetic bends per run")
    args = parser.parse_args()
    synthetic: list[Outcome] = []
    for seed in SYNTH_SEEDS:
        for hard in (False, True):
            synthetic += synthetic_outcomes(args.bends, seed, hard)
            print(f"synthetic seed {seed} hard={hard}: {len(synthetic)} items", file=sys.stderr)
    rendered = verdict_items(recorded_outcomes())
    synthetic_items = verdict_items(synthetic)
    # The two sources weigh the same in all: the synthetic bodies come with poses as drawn,
    # the rendered people with what the real model made of pixels — the errors real
    # pictures bring, which a count of synthetic bends would otherwise drown.
    items = synthetic_items + rendered
    weights = ([len(items) / 2 / len(synthetic_items)] * len(synthetic_items)
               + [len(items) / 2 / len(rendered)] * len(rendered))
    fitted = confidence.fit(items, weights)
    document = {
        "about": "Isotonic map from the classifier's raw score to how often it is right; "
                 "made by tools/fit_confidence.py (see there), never by hand.",
        "items": len(items),
        "knots": {k: {"raw": list(x), "right": list(y)} for k, (x, y) in fitted.knots.items()},
    }
    confidence.MAP_PATH.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(items)} verdicts; map written to {confidence.MAP_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
