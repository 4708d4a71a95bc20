"""From an analysed bend to the `BendEvent` that leaves the device: angles and landmarks
only, never a pixel."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from edge import __version__
from edge.analysis.analyzer import AnalyzedBend
from edge.events import TRACE_MAX_FRAMES, TRACE_MAX_RATE_HZ, BendEvent, BendMetrics, utc_ms
from edge.pose.landmarks import Pose

TRACE_WINDOW_S = TRACE_MAX_FRAMES / TRACE_MAX_RATE_HZ  # 3 s around the deepest moment


def skeleton_of(pose: Pose) -> tuple[tuple[float, float, float], ...]:
    """33 × [x, y, visibility], x and y over the frame's width and height."""
    xy = np.clip(pose.xy_norm, -1.0, 2.0)
    return tuple((float(x), float(y), float(v))
                 for (x, y), v in zip(xy, np.clip(pose.visibility, 0.0, 1.0), strict=True))


Skeleton = tuple[tuple[float, float, float], ...]


def trace_of(bend: AnalyzedBend) -> tuple[float, tuple[Skeleton, ...]]:
    """Skeletons at ≤ 10 Hz over ≤ 3 s centred on the deepest moment."""
    samples = bend.bend.samples
    deepest_t = bend.bend.deepest.kin.t_s
    lo = max(samples[0].kin.t_s, deepest_t - TRACE_WINDOW_S / 2)
    hi = min(samples[-1].kin.t_s, lo + TRACE_WINDOW_S)
    lo = max(samples[0].kin.t_s, hi - TRACE_WINDOW_S)
    picked: list[Pose] = []
    next_t = lo
    for s in samples:
        if lo <= s.kin.t_s <= hi + 1e-9 and s.kin.t_s >= next_t - 1e-9:
            picked.append(s.pose)
            next_t = s.kin.t_s + 1.0 / TRACE_MAX_RATE_HZ
        if len(picked) == TRACE_MAX_FRAMES:
            break
    if len(picked) >= 2:
        rate = (len(picked) - 1) / max(picked[-1].t_s - picked[0].t_s, 1e-6)
    else:
        rate = TRACE_MAX_RATE_HZ
    return min(TRACE_MAX_RATE_HZ, round(rate, 3)), tuple(skeleton_of(p) for p in picked)


def to_event(
    bend: AnalyzedBend,
    device_id: str,
    clock_origin: datetime,
    model_name: str = "blazepose",
    model_variant: str = "full",
    simulated: bool = False,
) -> BendEvent:
    """The event for `bend`; `clock_origin` is the wall-clock time of the stream's t = 0."""
    v, k = bend.verdict, bend.verdict.peak
    if v.posture == "stand":
        raise ValueError("a bend event needs a bend's posture, got stand")
    started = clock_origin + timedelta(seconds=bend.bend.start_s)
    ended = clock_origin + timedelta(seconds=bend.bend.end_s)
    rate, trace = trace_of(bend)
    bulge = v.back_bulge_norm
    return BendEvent(
        device_id=device_id,
        started_at=utc_ms(started),
        ended_at=utc_ms(ended),
        duration_s=bend.bend.duration_s,
        posture=v.posture,
        confidence=v.confidence,
        reasons=v.reasons,
        activity=bend.activity,
        zone=bend.zone.name if bend.zone is not None else None,
        lift=bend.lift,
        view=v.view,
        metrics=BendMetrics(
            peak_trunk_inclination_deg=float(np.clip(k.trunk_inclination_deg, -90, 180)),
            peak_hip_flexion_deg=float(np.clip(k.hip_flexion_deg, -90, 180)),
            peak_knee_flexion_deg=float(np.clip(k.knee_flexion_deg, -90, 180)),
            peak_hip_shift_norm=float(np.clip(k.hip_shift_norm, -5, 5)),
            back_bulge_norm=None if bulge is None else float(np.clip(bulge, -1, 1)),
            time_beyond_60_deg_s=bend.time_beyond_60_deg_s,
        ),
        skeleton=skeleton_of(bend.bend.deepest.pose),
        trace_rate_hz=rate,
        trace=trace,
        model_name=model_name,
        model_variant=model_variant,
        software_version=__version__,
        simulated=simulated,
    )
