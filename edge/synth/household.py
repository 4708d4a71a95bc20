"""The demo's endless household: day after simulated day of chores, as a pose stream.

Each day is one person doing the chores in front of one camera; the stream plays them at
the speed of life (or as fast as the pipeline takes them), and tells the caller the day's
zones so bends land in the right activity.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from edge.analysis.zones import Zone
from edge.pose.landmarks import Pose
from edge.synth.day import Day, household_day

# Half the side of the square zone drawn around where an activity's hands work (share of
# the frame): wide enough to hold the wrists over a whole bend.
ZONE_HALF_SIDE = 0.15


def zones_for(day: Day) -> tuple[Zone, ...]:
    """One zone per activity, centred on where its hands work in the picture."""
    zones = []
    for a in day.activities:
        x, y = a.zone_hint_xy_norm
        x0, x1 = max(0.0, x - ZONE_HALF_SIDE), min(1.0, x + ZONE_HALF_SIDE)
        y0, y1 = max(0.0, y - ZONE_HALF_SIDE), min(1.0, y + ZONE_HALF_SIDE)
        zones.append(Zone(a.zone, a.name, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    return tuple(zones)


def household_stream(
    realtime: bool = True,
    stop: threading.Event | None = None,
    seed: int | None = None,
    days: int | None = None,
    on_day: Callable[[Day], None] | None = None,
    fps: float = 10.0,
) -> Iterator[tuple[float, Pose | None]]:
    """(t_s, pose) for `days` simulated days (None: until `stop` is set)."""
    rng = np.random.default_rng(seed)
    stop = stop or threading.Event()
    offset = 0.0
    started = time.monotonic()
    n = 0
    while not stop.is_set() and (days is None or n < days):
        day = household_day(rng, fps=fps)
        if on_day is not None:
            on_day(day)
        duration = 0.0
        for i, pose in enumerate(day.clip.poses):
            t = offset + i / day.clip.fps
            if realtime:
                ahead = t - (time.monotonic() - started)
                if ahead > 0 and stop.wait(ahead):
                    return
            elif stop.is_set():
                return
            if pose is not None:
                # The clip's own clock starts at 0 every day; the stream's runs on.
                pose = replace(pose, t_s=t)
            yield t, pose
            duration = (i + 1) / day.clip.fps
        offset += duration
        n += 1

