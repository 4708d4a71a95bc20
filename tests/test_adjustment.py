"""The per-device cut-off adjustment: its defaults are the classifier's, an accepted one
moves this device's verdicts (taken retained over MQTT), it stays in its sane ranges, and
the defaults re-read every recorded verdict as the device said it."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge.adjustment import (
    Adjustment,
    AdjustmentError,
    parse_adjustment,
    reread,
)
from edge.agent import Agent
from edge.analysis import classifier
from edge.analysis.backline import BackLine
from edge.analysis.bends import Sample
from edge.analysis.kinematics import Kinematics
from edge.config import parse
from edge.delivery.topics import adjust_topic
from edge.pose.landmarks import Pose
from edge.review_export import READINGS
from tests.dashboard.conftest import wait_until
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker, Publisher


def test_an_accepted_adjustment_moves_the_classifiers_cut_offs() -> None:
    """The defaults are the classifier's own; moved, they change this device's verdicts."""
    assert Adjustment().is_default and Adjustment() == classifier.DEFAULT_CUTS
    # A side-on bend whose back line reads 0.03 (then 0.04): between flat and round by default.
    kin = Kinematics(t_s=0.0, trunk_inclination_deg=70.0, hip_flexion_deg=85.0,
                     knee_flexion_deg=20.0, hip_shift_norm=0.15, lowering_norm=0.1,
                     head_flexion_deg=20.0, torso_chord_ratio=0.95, yaw_deg=10.0, view="side",
                     legs_seen=True, trunk_seen=True)
    # (the pelvis tucked a little: enough for a low arc to count, not too much for a hinge)
    line = BackLine(bulge_norm=0.03, peak_at=0.5, hidden=False, upper_hump_norm=0.01,
                    hands_at_shoulders=False, hip_tuck_norm=-0.07, lower_tuck_norm=-0.07,
                    depth_mean_norm=0.27, chord_px=50.0, found_share=1.0, max_slope=0.3,
                    fit_rms=0.005,
                    depth_norm=np.full(20, 0.27), contour_px=np.zeros((20, 2)))
    pose = Pose(0.0, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)
    samples = [Sample(pose, replace(kin, t_s=i / 10), line) for i in range(5)]
    # (what the rules decide; the calibrated confidence may still hold a close call back)
    assert classifier.classify_samples(samples).rules_posture == "unsure"
    looser = Adjustment(bulge_flat=0.035, bulge_round=0.045)
    assert classifier.classify_samples(samples, cuts=looser).rules_posture == "hinge"
    curved = [replace(x, back=replace(line, bulge_norm=0.04)) for x in samples]
    assert classifier.classify_samples(curved).rules_posture == "unsure"
    stricter = Adjustment(bulge_flat=0.02, bulge_round=0.035)
    assert classifier.classify_samples(curved, cuts=stricter).rules_posture == "round"


def test_the_device_takes_a_retained_adjustment_and_refuses_a_bad_one(
        mosquitto: Broker, tmp_path: Path) -> None:
    config = parse({"device": {"id": "kitchen", "state_dir": str(tmp_path)},
                    "mqtt": {"host": "127.0.0.1", "port": mosquitto.port}}, "device.toml")
    agent = Agent(config, publisher=None, engine=None)  # type: ignore[arg-type]  # no events here
    accepted = Adjustment(bulge_flat=0.03, bulge_round=0.05, squat_min_knee_deg=55.0)
    dashboard = Publisher(mosquitto.port, client_id="adjust-test")
    try:
        # (16: accepted, nobody subscribed yet; anything under 128 is a success)
        assert dashboard.publish(adjust_topic("kitchen"), accepted.to_json("kitchen"),
                                 retain=True) < 128
        agent.practice.start()  # the device connects after the reviewer accepted: retained
        wait_until(lambda: agent.analyzer.cuts == accepted, 10.0)
        assert dashboard.publish(adjust_topic("kitchen"), b'{"schema":"x"}') < 128
        wait_until(lambda: agent.adjustments_refused == 1, 10.0)
        assert agent.analyzer.cuts == accepted  # a bad one changes nothing
        assert dashboard.publish(adjust_topic("kitchen"), b"", retain=True) < 128  # undone
        wait_until(lambda: agent.analyzer.cuts.is_default, 10.0)
    finally:
        agent.practice.close()
        dashboard.stop()


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
