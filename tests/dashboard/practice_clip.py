"""A replayed clip standing in for the camera: the fixtures' squats clip read once through
the real pose model, then fed to the agent's practice hook (edge.practice.hook) frame by
frame, the way the agent does (analyzer.update, then hook.frame with its bends)."""

from __future__ import annotations

import threading
import time
from functools import cache
from pathlib import Path

from edge.analysis.analyzer import BendAnalyzer
from edge.capture.sources import open_source
from edge.pose.landmarks import Pose
from edge.practice.hook import PracticeHook

SQUATS_CLIP = "video/pose_squats.mp4"


@cache
def clip_poses(path: Path) -> tuple[tuple[float, Pose | None], ...]:
    from edge.pose.engine import create_engine
    from edge.pose_stream import PoseStream

    with PoseStream(open_source(str(path)),
                    lambda: create_engine("blazepose", "full", 2, "auto", True)) as stream:
        return tuple((t.t_s, t.pose) for t in stream)


def play(hook: PracticeHook, poses: tuple[tuple[float, Pose | None], ...], *,
         pace_hz: float, stop: threading.Event | None = None) -> int:
    """Feed the poses to the hook at `pace_hz` (bounded: one pass); returns the bends."""
    analyzer = BendAnalyzer()
    found = 0
    for t_s, pose in poses:
        if stop is not None and stop.is_set():
            break
        bends = analyzer.update(t_s, pose)
        hook.frame(t_s, analyzer.last_sample, bends)
        found += len(bends)
        time.sleep(1 / pace_hz)
    last = poses[-1][0] if poses else 0.0
    bends = analyzer.finish()
    hook.frame(last, None, bends)
    return found + len(bends)
