"""The pose stream: every source to timed poses, with the rate, the pacing, stills read
alone and health counted (the motion gate on a still scene: tests/test_agent.py)."""

from __future__ import annotations

import threading
import time
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.capture.sources import open_source
from edge.pose.blazepose import BlazePose
from edge.pose_stream import PoseStream
from edge.synth.household import HouseholdSource

HOUSEHOLD_FPS = 10.0


def test_the_household_is_a_source_like_the_others() -> None:
    with PoseStream(HouseholdSource(seed=1, days=2)) as stream:
        timed = list(stream)
    assert stream.simulated and stream.model == ("synthetic", "synthetic")
    times = [t.t_s for t in timed]
    assert times == sorted(times) and len(times) == stream.health.frames
    assert all(t.frame is None for t in timed)  # poses without pixels
    assert any(t.pose is not None for t in timed)
    # Each simulated day does its chores at new spots: the zones come with the poses.
    days = {t.zones for t in timed}
    assert None not in days and len(days) == 2
    assert stream.health.status == "ok" and stream.health.analysed == len(timed)


def test_the_rate_keeps_one_moment_per_tick() -> None:
    with PoseStream(HouseholdSource(seed=1, days=1), rate_hz=HOUSEHOLD_FPS / 2) as stream:
        timed = list(stream)
    h = stream.health
    assert h.analysed == len(timed) and h.frames in (2 * h.analysed - 1, 2 * h.analysed)
    gaps = np.diff([t.t_s for t in timed])
    assert np.allclose(gaps, 2 / HOUSEHOLD_FPS)


def test_stop_ends_an_endless_source() -> None:
    stop = threading.Event()
    stream = PoseStream(HouseholdSource(seed=1), stop=stop)
    seen = 0
    for _ in stream:
        seen += 1
        if seen == 50:
            stop.set()
        assert seen <= 51, "the stream went on after stop"
    assert seen == 50


def test_realtime_plays_at_the_source_s_own_speed() -> None:
    started = time.monotonic()
    with PoseStream(HouseholdSource(seed=1), realtime=True) as stream:
        last = list(islice(stream, 8))[-1]
    # Never earlier than the source's clock (a busy machine is only later).
    assert time.monotonic() - started >= last.t_s - 0.02
    assert last.t_s == pytest.approx(7 / HOUSEHOLD_FPS)


@pytest.fixture(scope="module")
def engine() -> BlazePose:
    return BlazePose(variant="full", tracking=True)


@pytest.mark.pose
def test_a_video_gives_its_frames_at_the_analysis_rate(fixtures: Path,
                                                       engine: BlazePose) -> None:
    source = open_source(str(fixtures / "video/pose_squats.mp4"))
    assert source.fps is not None
    with PoseStream(source, lambda: engine, rate_hz=source.fps / 2, max_frames=12) as stream:
        timed = list(stream)
    assert [t.frame.index for t in timed if t.frame is not None] == list(range(0, 12, 2))
    assert all(t.pose is not None and t.pose.t_s == t.t_s for t in timed)
    h = stream.health
    assert (h.frames, h.analysed, h.pose_runs, h.dropped) == (12, 6, 6, 0)
    assert stream.model == ("blazepose", "full") and not stream.simulated


@pytest.mark.pose
def test_pictures_are_each_read_alone(fixtures: Path, tmp_path: Path,
                                      engine: BlazePose) -> None:
    picture = cv2.imread(str(fixtures / "images/pose.jpg"))
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), picture)
    before = engine.detector_runs
    with PoseStream(open_source(str(tmp_path)), lambda: engine) as stream:
        first, second = list(stream)
    assert stream.stills
    assert engine.detector_runs - before == 2  # nothing tracked from the picture before
    assert first.pose is not None and second.pose is not None
    assert np.array_equal(first.pose.xy_px, second.pose.xy_px)  # nor smoothed with it
