"""Running the whole analysis over a file: pictures are classified, videos segmented."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer, still_sample
from edge.analysis.bends import Sample
from edge.analysis.classifier import Verdict, classify_picture
from edge.analysis.kinematics import Baseline
from edge.capture.frames import Frame, FrameSource
from edge.capture.sources import ImageSource
from edge.pose.engine import PoseEngine
from edge.pose.smoothing import PoseSmoother


@dataclass(frozen=True)
class PictureResult:
    frame_index: int
    verdict: Verdict | None  # None: nobody in the picture
    sample: Sample | None


def classify_frame(
    frame: Frame, engine: PoseEngine, baseline: Baseline | None = None
) -> PictureResult:
    """One still picture, detector on, no tracking or smoothing."""
    engine.reset()  # a still stands alone: no ROI carried over from the last frame
    pose = engine.process(frame)
    if pose is None:
        return PictureResult(frame.index, None, None)
    sample = still_sample(pose, baseline)
    return PictureResult(frame.index, classify_picture(sample), sample)


def analyze_source(
    source: FrameSource,
    engine: PoseEngine,
    analyzer: BendAnalyzer | None = None,
    step: Callable[[], None] = lambda: None,
    max_frames: int | None = None,
) -> list[AnalyzedBend] | list[PictureResult]:
    """Bends of a video (tracked, smoothed), or one verdict per picture."""
    if isinstance(source, ImageSource):
        results = []
        for frame in source:
            results.append(classify_frame(frame, engine))
            step()
        return results
    analyzer = analyzer or BendAnalyzer()
    smoother = PoseSmoother()
    bends: list[AnalyzedBend] = []
    for frame in source:
        if max_frames is not None and frame.index >= max_frames:
            break
        pose = smoother.smooth(engine.process(frame))
        bends += analyzer.update(frame.t_s, pose)
        step()
    return bends + analyzer.finish()
