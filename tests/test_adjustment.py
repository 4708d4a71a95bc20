"""The per-device cut-off adjustment's contract: its defaults are the classifier's, it stays
in its sane ranges, and the defaults re-read every recorded verdict as the device said it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from edge.adjustment import (
    Adjustment,
    AdjustmentError,
    parse_adjustment,
    reread,
)
from edge.analysis import classifier
from edge.review_export import READINGS
from tests.dashboard.factory import make_event


def test_the_defaults_are_the_classifiers() -> None:
    import edge.adjustment as adj

    assert (adj.BULGE_FLAT, adj.BULGE_ROUND, adj.SQUAT_MIN_KNEE_DEG,
            adj.SQUAT_LEAN_MAX_TRUNK_DEG) == (
        classifier.BULGE_FLAT, classifier.BULGE_ROUND, classifier.SQUAT_MIN_KNEE_DEG,
        classifier.SQUAT_LEAN_MAX_TRUNK_DEG)
    assert Adjustment().is_default


@pytest.mark.parametrize(("fields", "message"), [
    ({"bulge_flat": 0.005}, "bulge_flat: expected 0.015-0.035"),
    ({"bulge_round": 0.2}, "bulge_round: expected 0.035-0.065"),
    ({"bulge_flat": 0.035, "bulge_round": 0.04}, "at least 0.01 above"),
    ({"squat_min_knee_deg": 20.0}, "squat_min_knee_deg: expected 45.0-75.0"),
    ({"squat_min_knee_deg": float("nan")}, "squat_min_knee_deg"),
])
def test_an_adjustment_outside_the_sane_ranges_is_refused(fields: dict[str, float],
                                                          message: str) -> None:
    with pytest.raises(AdjustmentError, match=message):
        Adjustment(**fields)


def test_an_adjustment_round_trips_and_empty_means_the_defaults() -> None:
    a = Adjustment(0.02, 0.05, 55.0)
    assert parse_adjustment(a.to_json("kitchen").encode()) == a
    assert parse_adjustment(b"") == Adjustment()
    for bad in (b"[]", b"{", b'{"schema":"hingewatch.adjust/1","bulge_flat":0.02}',
                b"x" * 2000):
        with pytest.raises(AdjustmentError):
            parse_adjustment(bad)


def test_the_defaults_reread_every_verdict_as_the_device_said_it() -> None:
    rng = random.Random(5)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(200):
        posture = rng.choice(("hinge", "round", "squat", "unsure"))
        e = make_event(posture, start + timedelta(minutes=i), frames=2, rng=rng)
        readings = {k: getattr(e.metrics, k) for k in READINGS}
        assert reread(e.posture, e.reasons, readings, Adjustment()) == e.posture
