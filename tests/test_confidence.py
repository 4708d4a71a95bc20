"""The confidence map: isotonic fitting and what the stored map promises."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.analysis.confidence import MAP_PATH, fit, isotonic


def test_isotonic_pools_violators_and_keeps_plateaus_as_two_knots() -> None:
    x, y = isotonic([0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6], [0, 1, 0, 0, 1, 1, 1, 1])
    assert x.tolist() == [0.1, 0.2, 0.3, 0.4, 0.6]
    assert y.tolist() == pytest.approx([0.0, 1 / 3, 1 / 3, 1.0, 1.0])
    assert np.all(np.diff(y) >= 0)


def test_weights_count_an_item_as_that_many() -> None:
    raw, right = [0.1, 0.1, 0.5, 0.5], [0, 1, 1, 0]
    x, y = isotonic(raw, right, [1.0, 3.0, 1.0, 1.0])
    # 0.1: right 3 of 4 by weight; 0.5: half, below it, so the two pool to 4 of 6.
    assert y.tolist() == pytest.approx([4 / 6, 4 / 6])
    m = fit([("hinge", r, bool(ok)) for r, ok in zip(raw, right, strict=True)] * 20,
            [1.0, 3.0, 1.0, 1.0] * 20)
    assert m("hinge", 0.3) == pytest.approx(4 / 6, abs=0.01)
    with pytest.raises(ValueError, match="weights"):
        fit([("hinge", 0.1, True)], [1.0, 2.0])


def test_a_fitted_map_matches_how_often_verdicts_were_right() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.4, 1.0, 4000)
    truth_rate = np.clip(2 * raw - 1.0, 0.0, 1.0)  # right half the time at 0.75
    right = rng.uniform(size=raw.size) < truth_rate
    m = fit([("hinge", float(r), bool(ok)) for r, ok in zip(raw, right, strict=True)])
    for r in (0.6, 0.75, 0.9):
        assert m("hinge", r) == pytest.approx(2 * r - 1.0, abs=0.08)
    assert m("squat", 0.75) == m("all", 0.75)  # too few squats: the shared map


def test_the_stored_map_is_monotone_and_says_how_it_was_made() -> None:
    document = json.loads(MAP_PATH.read_text())
    assert "tools/fit_confidence.py" in document["about"]
    for name, knots in document["knots"].items():
        assert np.all(np.diff(knots["raw"]) >= 0), name
        assert np.all(np.diff(knots["right"]) >= 0), name
        assert min(knots["right"]) > 0.0 and max(knots["right"]) < 1.0, name
