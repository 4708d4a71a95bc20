"""History for the demo: eight weeks of simulated bends, so the Week page and the trend
mean something on first start.

The bends are real pipeline output (kinematics, segmenter, classifier) on simulated
household days; only their dates are spread over the past weeks, with the hinge share
growing week by week the way a habit does. Every event is marked `simulated`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.bend_events import to_event
from edge.events import BendEvent
from edge.pose_stream import PoseStream
from edge.synth.household import HouseholdSource

# Simulated days analysed to fill the pool the history draws from.
POOL_DAYS = 4
# Hinge share in the first and the last week of the history: the habit being learned.
FIRST_WEEK_HINGE = 0.3
LAST_WEEK_HINGE = 0.75
BENDS_PER_DAY = (6, 14)


def bend_pool(seed: int = 0) -> list[AnalyzedBend]:
    analyzer = BendAnalyzer()
    bends: list[AnalyzedBend] = []
    with PoseStream(HouseholdSource(seed=seed, days=POOL_DAYS)) as stream:
        for timed in stream:
            bends += analyzer.update(timed.t_s, timed.pose, timed.zones)
    return bends + analyzer.finish()


def history(device_id: str, weeks: int = 8, seed: int = 0,
            now: datetime | None = None) -> list[BendEvent]:
    """Events for every day of the last `weeks` weeks up to yesterday, oldest first."""
    rng = np.random.default_rng(seed)
    pool = bend_pool(seed)
    by_posture = {p: [b for b in pool if b.verdict.posture == p]
                  for p in ("hinge", "round", "squat")}
    if not by_posture["hinge"] or not (by_posture["round"] or by_posture["squat"]):
        raise RuntimeError("the simulated pool lacks hinges or other bends")
    others = by_posture["round"] + by_posture["squat"]
    local_now = (now or datetime.now(UTC)).astimezone()
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = weeks * 7
    events = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        progress = 1.0 - back / days
        share = FIRST_WEEK_HINGE + (LAST_WEEK_HINGE - FIRST_WEEK_HINGE) * progress
        times = np.sort(rng.uniform(7 * 3600, 21 * 3600, int(rng.integers(*BENDS_PER_DAY))))
        for t in times:
            choice = by_posture["hinge"] if rng.random() < share else others
            bend = choice[int(rng.integers(len(choice)))]
            start = day + timedelta(seconds=float(t))
            origin = start - timedelta(seconds=bend.bend.start_s)
            events.append(to_event(bend, device_id, origin.astimezone(UTC),
                                   model_name="synthetic", model_variant="synthetic",
                                   simulated=True))
    return events
