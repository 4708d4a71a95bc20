"""`hingewatch analyze`: every bend of a video, or one verdict per picture, and the
offline analysis `eval` shares (the pose stream, then the bend analyser or the picture
classifier)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer, still_sample
from edge.analysis.bends import Sample
from edge.analysis.classifier import Verdict, classify_picture
from edge.analysis.kinematics import Baseline
from edge.analysis.sheet import annotate
from edge.capture.frames import Frame
from edge.capture.sources import ImageSource, open_source, read_image
from edge.commands.pose import add_engine_arguments, engine_from
from edge.pose.draw import contact_sheet, write_rgb
from edge.pose.engine import PoseEngine
from edge.pose.landmarks import Pose
from edge.pose_stream import PoseStream, still_pose
from edge.progress import Progress


def add_parser(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analyze", help="find and classify the bends in a video or picture")
    a.add_argument("source", help="video, GIF, picture or folder of pictures")
    a.add_argument("--json", action="store_true", help="one JSON object per bend on stdout")
    a.add_argument("--sheet", type=Path, help="draw each bend's deepest frame into this PNG")
    add_engine_arguments(a)
    a.set_defaults(func=run_analyze)


@dataclass(frozen=True)
class PictureResult:
    frame_index: int
    verdict: Verdict | None  # None: nobody in the picture
    sample: Sample | None


def picture_result(index: int, pose: Pose | None,
                   baseline: Baseline | None = None) -> PictureResult:
    if pose is None:
        return PictureResult(index, None, None)
    sample = still_sample(pose, baseline)
    return PictureResult(index, classify_picture(sample), sample)


def classify_frame(
    frame: Frame, engine: PoseEngine, baseline: Baseline | None = None
) -> PictureResult:
    """One still picture, detector on, no tracking or smoothing."""
    return picture_result(frame.index, still_pose(engine, frame), baseline)


def analyze_stream(
    stream: PoseStream,
    analyzer: BendAnalyzer | None = None,
    step: Callable[[], None] = lambda: None,
) -> list[AnalyzedBend] | list[PictureResult]:
    """Bends of a video (tracked, smoothed), or one verdict per picture."""
    if stream.stills:
        results = []
        for timed in stream:
            assert timed.frame is not None  # pictures are frames
            results.append(picture_result(timed.frame.index, timed.pose))
            step()
        return results
    analyzer = analyzer or BendAnalyzer()
    bends: list[AnalyzedBend] = []
    for timed in stream:
        bends += analyzer.update(timed.t_s, timed.pose, timed.zones)
        step()
    return bends + analyzer.finish()


def bend_record(b: AnalyzedBend) -> dict[str, Any]:
    v, k = b.verdict, b.verdict.peak
    return {
        "start_s": round(b.bend.start_s, 3),
        "end_s": round(b.bend.end_s, 3),
        "deepest_s": round(b.bend.deepest.kin.t_s, 3),
        "posture": v.posture,
        "confidence": round(v.confidence, 3),
        "reasons": list(v.reasons),
        "view": v.view,
        "activity": b.activity,
        "lift": b.lift,
        "peak": {
            "trunk_inclination_deg": round(k.trunk_inclination_deg, 1),
            "hip_flexion_deg": round(k.hip_flexion_deg, 1),
            "knee_flexion_deg": round(k.knee_flexion_deg, 1),
            "hip_shift_norm": round(k.hip_shift_norm, 3),
            "back_bulge_norm": None if v.back_bulge_norm is None else round(v.back_bulge_norm, 4),
        },
        "time_beyond_60_deg_s": round(b.time_beyond_60_deg_s, 2),
        "cut": {"at_start": b.bend.cut_at_start, "at_end": b.bend.cut_at_end},
    }


def picture_record(name: str, r: PictureResult) -> dict[str, Any]:
    if r.verdict is None:
        return {"picture": name, "posture": None, "reason": "nobody found"}
    v, k = r.verdict, r.verdict.peak
    return {"picture": name, "posture": v.posture, "confidence": round(v.confidence, 3),
            "reasons": list(v.reasons), "view": v.view,
            "trunk_inclination_deg": round(k.trunk_inclination_deg, 1),
            "back_bulge_norm": None if v.back_bulge_norm is None else round(v.back_bulge_norm, 4)}


def run_analyze(args: argparse.Namespace) -> int:
    source = open_source(args.source)
    with PoseStream(source, lambda: engine_from(args, tracking=not source.stills)) as stream:
        progress = Progress(f"analyze {args.source}", source.frame_count)
        try:
            results = analyze_stream(stream, BendAnalyzer(), progress.step)
        finally:
            progress.close()
    tiles: list[np.ndarray] = []
    if isinstance(source, ImageSource):
        for r in results:
            assert isinstance(r, PictureResult)
            name = str(source.files[r.frame_index])  # a skipped picture leaves a gap
            rec = picture_record(name, r)
            print(json.dumps(rec) if args.json else _picture_line(rec))
            if args.sheet:
                tiles.append(annotate(read_image(Path(name)), r.sample, r.verdict, Path(name).name))
    else:
        bends = [b for b in results if isinstance(b, AnalyzedBend)]
        for b in bends:
            rec = bend_record(b)
            print(json.dumps(rec) if args.json else _bend_line(rec))
        if not bends and not args.json:
            print("no bends found")
        if args.sheet and bends:
            tiles = deepest_frames(args.source, bends)
    if args.sheet:
        if not tiles:
            print("nothing to draw: no bends", file=sys.stderr)
        else:
            write_rgb(str(args.sheet), contact_sheet(tiles, columns=min(3, len(tiles))))
            print(f"contact sheet: {args.sheet.resolve()}", file=sys.stderr)
    return 0


def deepest_frames(spec: str, bends: list[AnalyzedBend]) -> list[np.ndarray]:
    """Decode the video again and draw each bend's deepest frame (no frames kept in memory)."""
    wanted = {b.bend.deepest.pose.t_s: b for b in bends}
    tiles: dict[float, np.ndarray] = {}
    with open_source(spec) as source:
        for frame in source:
            b = wanted.get(frame.t_s)
            if b is not None:
                title = f"{b.bend.start_s:.1f}-{b.bend.end_s:.1f}s"
                tiles[frame.t_s] = annotate(frame.rgb, b.bend.deepest, b.verdict, title)
            if len(tiles) == len(wanted):
                break
    return [tiles[t] for t in sorted(tiles)]


def _bend_line(r: dict[str, Any]) -> str:
    p = r["peak"]
    reasons = ", ".join(r["reasons"]) or "-"
    return (f"{r['start_s']:7.2f}–{r['end_s']:7.2f} s  {r['posture']:5}  {r['confidence']:.0%}  "
            f"trunk {p['trunk_inclination_deg']:.0f}°  hip {p['hip_flexion_deg']:.0f}°  "
            f"knee {p['knee_flexion_deg']:.0f}°  view {r['view']}  activity {r['activity']}  "
            f"reasons: {reasons}")


def _picture_line(r: dict[str, Any]) -> str:
    if r["posture"] is None:
        return f"{r['picture']}: nobody found"
    return (f"{r['picture']}: {r['posture']} ({r['confidence']:.0%}, view {r['view']}; "
            f"reasons: {', '.join(r['reasons']) or '-'})")


