"""The analysis stage: poses in, classified bends out (kinematics, smoothing, calibration,
segmentation, classification, zones and lift, wired in order)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edge.analysis.backline import back_line
from edge.analysis.bends import Bend, BendSegmenter, Sample
from edge.analysis.calibration import Calibrator
from edge.analysis.classifier import (
    BACKLINE_MIN_TRUNK_DEG,
    DEFAULT_CUTS,
    Verdict,
    VerdictPosture,
    classify_bend,
    classify_picture,
    time_beyond_deg_s,
)
from edge.analysis.kinematics import Baseline, forward_axis, kinematics
from edge.analysis.zones import CHAIR_ACTIVITY, DEFAULT_ZONES, UNKNOWN_ACTIVITY, Zone, zone_at
from edge.pose.landmarks import Joint, Pose
from edge.pose.smoothing import OneEuroFilter, OneEuroSettings

# Smoothing of the angle signals (degrees and leg-length shares): 1.5 Hz at rest removes
# landmark jitter while keeping a 1 s bend whole; beta 0.02 lets the cutoff rise ~1 Hz per
# 50 units/s so a quick dip is not flattened. Lower min_cutoff smooths more and lags more.
SIGNALS = OneEuroSettings(min_cutoff_hz=1.5, beta=0.02, derivative_cutoff_hz=1.0)
_SMOOTHED = ("trunk_inclination_deg", "hip_flexion_deg", "knee_flexion_deg",
             "hip_shift_norm", "lowering_norm", "head_flexion_deg")
# Lift: as the rise ends, hands that carry something (a child, a basket) are held in front
# at or above hip level; empty hands hang below the hips (measured on the synthetic
# bodies: ≤ −0.11 torso lengths, carrying: ≥ −0.03). In torso lengths, so body size drops
# out. Raising LIFT_MIN_HEIGHT calls only high carries lifts.
LIFT_MIN_HEIGHT = -0.07
LIFT_MIN_REACH = 0.3


def still_sample(pose: Pose, baseline: Baseline | None = None) -> Sample:
    """One picture's frame as the classifier reads it: angles unsmoothed, the back line
    always traced (a still has no other frames to read it from)."""
    kin = kinematics(pose, baseline)
    return Sample(pose, kin, back_line(pose, kin.yaw_deg))


@dataclass(frozen=True)
class AnalyzedBend:
    bend: Bend
    verdict: Verdict
    zone: Zone | None
    lift: bool
    time_beyond_60_deg_s: float

    @property
    def activity(self) -> str:
        if self.zone is not None:
            return self.zone.activity
        # Sitting down, or leaning while seated: a chair, wherever it stands.
        return CHAIR_ACTIVITY if self.bend.ends_seated or self.bend.seated else UNKNOWN_ACTIVITY


def is_lift(bend: Bend, up: np.ndarray) -> bool:
    """Hands held up in front as the rise ends (the bend's last frame)."""
    e = bend.samples[-1].pose.world_m
    if e is None:
        return False
    forward = forward_axis(e, up)
    hip = (e[Joint.LEFT_HIP] + e[Joint.RIGHT_HIP]) / 2
    shoulder = (e[Joint.LEFT_SHOULDER] + e[Joint.RIGHT_SHOULDER]) / 2
    torso = float(np.linalg.norm(shoulder - hip)) or 1.0
    wrists = (e[Joint.LEFT_WRIST] + e[Joint.RIGHT_WRIST]) / 2 - hip
    return bool(wrists @ up / torso >= LIFT_MIN_HEIGHT
                and wrists @ forward / torso >= LIFT_MIN_REACH)


class BendAnalyzer:
    """`update(pose)` per frame (None when nobody is seen) → bends that just finished.

    `baseline` fixes the standing baseline; else it is learned as the person stands, and
    with `learned_file` kept there across restarts."""

    def __init__(
        self,
        zones: tuple[Zone, ...] = DEFAULT_ZONES,
        baseline: Baseline | None = None,
        learn_baseline: bool = True,
        learned_file: Path | None = None,
    ) -> None:
        self.zones = zones
        self.fixed_baseline = baseline
        self.learn_baseline = learn_baseline
        self.calibrator = Calibrator(learned_file if baseline is None else None)
        self.segmenter = BendSegmenter()
        # The classifier's cut-offs for this device: its reviews' when a reviewer accepted
        # an adjustment (edge.adjustment), else the defaults. Replaced whole, never edited.
        self.cuts = DEFAULT_CUTS
        self._filter = OneEuroFilter(SIGNALS)
        self.last_sample: Sample | None = None

    def reset(self) -> None:
        self.calibrator.reset()
        self.segmenter.reset()
        self._filter.reset()
        self.last_sample = None

    @property
    def baseline(self) -> Baseline | None:
        return self.fixed_baseline or self.calibrator.baseline

    def sample(self, pose: Pose) -> Sample:
        """Kinematics (smoothed) and back line for one frame."""
        kin = kinematics(pose, self.baseline)
        raw = np.array([getattr(kin, n) for n in _SMOOTHED])
        if np.isfinite(raw).all():
            smooth = self._filter(pose.t_s, raw)
            values: dict[str, float] = {
                n: float(v) for n, v in zip(_SMOOTHED, smooth, strict=True)
            }
            kin = replace(kin, **values)  # type: ignore[arg-type]  # the smoothed fields are all floats
        if self.learn_baseline and self.fixed_baseline is None:
            self.calibrator.update(pose, kin)
        # The classifier reads the back line only with the trunk forward: upright frames
        # (most of them) skip tracing it.
        tipped = kin.trunk_inclination_deg >= BACKLINE_MIN_TRUNK_DEG
        return Sample(pose, kin, back_line(pose, kin.yaw_deg) if tipped else None)

    def update(self, t_s: float, pose: Pose | None,
               zones: tuple[Zone, ...] | None = None) -> list[AnalyzedBend]:
        """`zones`: the scene's own from now on (a simulated day's chores at new spots)."""
        if zones is not None:
            self.zones = zones
        sample = self.sample(pose) if pose is not None else None
        if sample is None:
            self._filter.reset()
        self.last_sample = sample
        return [self._analyze(b) for b in self.segmenter.update(t_s, sample)]

    def finish(self) -> list[AnalyzedBend]:
        self.calibrator.flush()
        return [self._analyze(b) for b in self.segmenter.finish()]

    def posture_now(self) -> VerdictPosture | None:
        """The posture of the last frame alone (None: nobody seen)."""
        if self.last_sample is None:
            return None
        return classify_picture(self.last_sample).posture

    def run(self, timed: Iterable[tuple[float, Pose | None]]) -> list[AnalyzedBend]:
        """Every bend of a whole stream of (t_s, pose), the last one closed at its end."""
        bends: list[AnalyzedBend] = []
        for t_s, pose in timed:
            bends += self.update(t_s, pose)
        return bends + self.finish()

    def restart(self) -> list[AnalyzedBend]:
        """The stream starts over (a file played again): finish what is under way and
        start a new timeline, keeping the learned baseline."""
        done = self.finish()
        self.segmenter.reset()
        self._filter.reset()
        self.last_sample = None
        return done

    def _analyze(self, bend: Bend) -> AnalyzedBend:
        verdict = classify_bend(bend, self.cuts)
        up = self.baseline.up_world if self.baseline is not None else np.array([0.0, -1.0, 0.0])
        return AnalyzedBend(
            bend=bend,
            verdict=verdict,
            zone=zone_at(bend.deepest.pose, self.zones),
            lift=is_lift(bend, up),
            time_beyond_60_deg_s=time_beyond_deg_s([s.kin for s in bend.samples]),
        )
