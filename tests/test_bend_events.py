"""`to_event`: an analysed bend becomes the `BendEvent` that leaves the device — its times on
the wall clock, its verdict, angles and skeletons, never a pixel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from edge import __version__
from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.bend_events import TRACE_WINDOW_S, skeleton_of, to_event
from edge.events import TRACE_MAX_FRAMES, TRACE_MAX_RATE_HZ, utc_ms, validate
from edge.synth import SynthNoise, make_clip

ORIGIN = datetime(2026, 12, 4, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def bend() -> AnalyzedBend:
    """One real bend: a simulated hinge through the whole analysis (30 frames a second,
    so the trace has more frames than it may carry)."""
    clip = make_clip(np.random.default_rng(3), kinds=("hinge",), n_bends=1,
                     yaw_range_deg=(-20, 20), fps=30.0, noise=SynthNoise.none())
    bends = BendAnalyzer().run((i / clip.fps, pose) for i, pose in enumerate(clip.poses))
    assert len(bends) == 1
    return bends[0]


def test_the_event_says_when_what_and_how_deep(bend: AnalyzedBend) -> None:
    event = to_event(bend, "kitchen", ORIGIN, model_name="blazepose", model_variant="lite")
    validate(event.to_dict())
    b, v = bend.bend, bend.verdict
    assert event.started_at == utc_ms(ORIGIN + timedelta(seconds=b.start_s))
    assert event.ended_at == utc_ms(ORIGIN + timedelta(seconds=b.end_s))
    assert event.duration_s == b.duration_s > 0
    assert (event.posture, event.confidence, event.reasons, event.view) == (
        v.posture, v.confidence, v.reasons, v.view)
    assert (event.activity, event.lift) == (bend.activity, bend.lift)
    assert event.zone == (bend.zone.name if bend.zone is not None else None)
    m = event.metrics
    assert m.peak_trunk_inclination_deg == pytest.approx(v.peak.trunk_inclination_deg)
    assert m.peak_knee_flexion_deg == pytest.approx(v.peak.knee_flexion_deg)
    assert m.time_beyond_60_deg_s == bend.time_beyond_60_deg_s
    assert (event.device_id, event.model_name, event.model_variant) == (
        "kitchen", "blazepose", "lite")
    assert event.software_version == __version__ and event.simulated is False


def test_skeletons_are_the_deepest_frame_and_a_short_trace_around_it(bend: AnalyzedBend) -> None:
    event = to_event(bend, "kitchen", ORIGIN)
    deepest = bend.bend.deepest.pose
    assert len(event.skeleton) == 33
    assert np.allclose([p[:2] for p in event.skeleton], deepest.xy_norm)
    assert 2 <= len(event.trace) <= TRACE_MAX_FRAMES
    assert 0 < event.trace_rate_hz <= TRACE_MAX_RATE_HZ
    # Which of the bend's frames the trace holds: at most 10 a second, within 3 s, around
    # the deepest moment.
    at = {skeleton_of(s.pose): s.kin.t_s for s in bend.bend.samples}
    times = [at[frame] for frame in event.trace]
    assert np.all(np.diff(times) >= 1 / TRACE_MAX_RATE_HZ - 1e-9)
    assert times[-1] - times[0] <= TRACE_WINDOW_S + 1e-9
    assert times[0] <= bend.bend.deepest.kin.t_s <= times[-1]


def test_angles_out_of_range_are_clipped_to_what_the_schema_allows(bend: AnalyzedBend) -> None:
    peak = replace(bend.verdict.peak, trunk_inclination_deg=400.0, hip_shift_norm=-9.0)
    back = replace(bend.verdict.back, bulge_norm=3.0)
    wild = replace(bend, verdict=replace(bend.verdict, peak=peak, back=back))
    event = to_event(wild, "kitchen", ORIGIN)
    validate(event.to_dict())
    assert event.metrics.peak_trunk_inclination_deg == 180.0
    assert event.metrics.peak_hip_shift_norm == -5.0
    assert event.metrics.back_bulge_norm == 1.0


def test_a_standing_verdict_is_no_bend(bend: AnalyzedBend) -> None:
    standing = replace(bend, verdict=replace(bend.verdict, posture="stand"))
    with pytest.raises(ValueError, match="got stand"):
        to_event(standing, "kitchen", ORIGIN)


def test_a_simulated_bend_says_so(bend: AnalyzedBend) -> None:
    event = to_event(bend, "kitchen", ORIGIN, model_name="synthetic",
                     model_variant="synthetic", simulated=True)
    validate(event.to_dict())
    assert event.simulated and event.to_dict()["model"] == {"name": "synthetic",
                                                            "variant": "synthetic"}
