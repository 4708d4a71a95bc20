"""The demo's endless household: day after simulated day of chores, as a pose source.

Each day is one person doing the chores in front of one camera; the pose stream plays them
at the speed of life (or as fast as the pipeline takes them), and the source tells the day's
zones so bends land in the right activity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from edge.analysis.zones import Zone
from edge.pose.landmarks import Pose
from edge.pose_stream import PoseSource
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


class HouseholdSource(PoseSource):
    """(t_s, pose) for `days` simulated days (None: without end), as fast as they are read
    (the pose stream paces them); `zones` are the current day's."""

    name = "synthetic"
    simulated = True
    model = ("synthetic", "synthetic")

    def __init__(self, seed: int | None = None, days: int | None = None,
                 fps: float = 10.0) -> None:
        self.seed = seed
        self.days = days
        self.fps = fps
        self.zones: tuple[Zone, ...] | None = None

    def __iter__(self) -> Iterator[tuple[float, Pose | None]]:
        rng = np.random.default_rng(self.seed)
        offset = 0.0
        n = 0
        while self.days is None or n < self.days:
            day = household_day(rng, fps=self.fps)
            # The simulated person does each chore at a new spot: zones follow them.
            self.zones = zones_for(day)
            duration = 0.0
            for i, pose in enumerate(day.clip.poses):
                t = offset + i / day.clip.fps
                if pose is not None:
                    # The clip's own clock starts at 0 every day; the stream's runs on.
                    pose = replace(pose, t_s=t)
                yield t, pose
                duration = (i + 1) / day.clip.fps
            offset += duration
            n += 1
