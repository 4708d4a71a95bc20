"""`hingewatch analyze`, `hingewatch eval` and `hingewatch calibrate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.analysis.calibration import Calibrator, save_baseline
from edge.analysis.classifier import Verdict
from edge.analysis.evaluation import (
    MISSED,
    Detection,
    Outcome,
    Tally,
    confusion_table,
    detections,
    read_labels,
    reliability_table,
    verdict_of,
)
from edge.analysis.kinematics import kinematics
from edge.analysis.offline import PictureResult, analyze_source
from edge.analysis.sheet import annotate
from edge.capture.sources import ImageSource, open_source
from edge.commands.pose import add_engine_arguments
from edge.errors import HingewatchError
from edge.pose.draw import contact_sheet, write_rgb
from edge.pose.engine import PoseEngine, create_engine
from edge.pose.smoothing import PoseSmoother
from edge.progress import Progress


def add_parsers(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analyze", help="find and classify the bends in a video or picture")
    a.add_argument("source", help="video, GIF, picture or folder of pictures")
    a.add_argument("--json", action="store_true", help="one JSON object per bend on stdout")
    a.add_argument("--sheet", type=Path, help="draw each bend's deepest frame into this PNG")
    add_engine_arguments(a)
    a.set_defaults(func=run_analyze)

    e = sub.add_parser("eval", help="measure detection and accuracy on labelled clips")
    e.add_argument("labels", type=Path, nargs="?",
                   help="CSV with the header clip,start_s,end_s,label")
    e.add_argument("--synthetic", type=int, metavar="BENDS",
                   help="instead: this many bends of the synthetic household (yaw ±60°)")
    e.add_argument("--seed", type=int, default=0, help="synthetic: random seed (default 0)")
    e.add_argument("--hard", action="store_true",
                   help="synthetic: add the hard cases (props on the back, arms along the "
                        "trunk, front views, merged or broken masks, sitting, wide squats) "
                        "and report figures per case")
    e.add_argument("--recorded", type=Path, metavar="SET",
                   help="instead: a recorded set of rendered people (tests/data/rendered/NAME)")
    e.add_argument("--sheet", type=Path, metavar="DIR",
                   help="draw each wrong or unsure item (skeleton, back line, verdict) into DIR")
    add_engine_arguments(e)
    e.set_defaults(func=run_eval)

    c = sub.add_parser("calibrate", help="learn the standing baseline from a clip of standing")
    c.add_argument("source", help="video or camera with the person standing for a few seconds")
    c.add_argument("--out", type=Path, help="write the baseline JSON here")
    add_engine_arguments(c)
    c.set_defaults(func=run_calibrate)


def _engine(args: argparse.Namespace, tracking: bool = True) -> PoseEngine:
    # MoveNet has no world landmarks and no person mask: its angles come from the picture
    # and its verdicts never see the back line (lower confidence, no rounding reasons).
    return create_engine(args.engine, args.variant, args.threads, args.runtime, tracking,
                         model=args.model, precision=args.precision)


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
    with open_source(args.source) as source:
        engine = _engine(args, tracking=not isinstance(source, ImageSource))
        progress = Progress(f"analyze {args.source}", source.frame_count)
        try:
            results = analyze_source(source, engine, BendAnalyzer(), progress.step)
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
                from edge.capture.sources import read_image

                tiles.append(annotate(read_image(Path(name)), r.sample, r.verdict, Path(name).name))
    else:
        bends = [b for b in results if isinstance(b, AnalyzedBend)]
        for b in bends:
            rec = bend_record(b)
            print(json.dumps(rec) if args.json else _bend_line(rec))
        if not bends and not args.json:
            print("no bends found")
        if args.sheet and bends:
            tiles = _deepest_frames(args.source, bends)
    if args.sheet:
        if not tiles:
            print("nothing to draw: no bends", file=sys.stderr)
        else:
            write_rgb(str(args.sheet), contact_sheet(tiles, columns=min(3, len(tiles))))
            print(f"contact sheet: {args.sheet.resolve()}", file=sys.stderr)
    return 0


def _deepest_frames(spec: str, bends: list[AnalyzedBend]) -> list[np.ndarray]:
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


def run_eval(args: argparse.Namespace) -> int:
    if args.synthetic is not None:
        if args.synthetic < 3:
            raise HingewatchError(f"--synthetic: expected 3 bends or more, got {args.synthetic}")
        from edge.synth.evaluate import BENDS_PER_CLIP, evaluate_synthetic

        progress = Progress("eval synthetic clips", -(-args.synthetic // BENDS_PER_CLIP))
        try:
            figures = evaluate_synthetic(args.synthetic, args.seed, step=progress.step,
                                         hard=args.hard)
        finally:
            progress.close()
        print(json.dumps(figures))
        return 0
    if args.hard:
        raise HingewatchError("--hard: goes with --synthetic BENDS")
    if args.recorded is not None:
        if args.sheet is not None:
            raise HingewatchError("--sheet: a recorded set holds no pixels to draw")
        from edge.analysis.recorded_eval import evaluate_recorded

        tally = evaluate_recorded(args.recorded)
        summary = tally.summary()
        _report_errors(tally, summary, None, args.recorded.parent)
        print(json.dumps(summary))
        return 0
    if args.labels is None:
        raise HingewatchError("eval: give a LABELS.csv file, --synthetic BENDS or --recorded SET")
    rows = read_labels(args.labels)
    engine = _engine(args)
    tally = Tally()
    videos: dict[Path, list] = {}
    for r in rows:
        if not r.is_image:
            videos.setdefault(r.clip, []).append(r)
    images = [r for r in rows if r.is_image]
    root = args.labels.parent
    progress = Progress(f"eval {args.labels}", len(images) + len(videos))
    try:
        for r in images:
            with open_source(str(r.clip)) as source:
                results = analyze_source(source, engine)
            picture = results[0]
            assert isinstance(picture, PictureResult)
            v = picture.verdict
            tally.item(Outcome(str(r.clip.relative_to(root)), r.label,
                               v.posture if v else MISSED, v.confidence if v else None,
                               picture))
            progress.step()
        for clip, clip_rows in videos.items():
            engine.reset()
            with open_source(str(clip)) as source:
                bends = analyze_source(source, engine)
            tally.video(clip_rows, detections([b for b in bends if isinstance(b, AnalyzedBend)]),
                        str(clip.relative_to(root)))
            progress.step()
    finally:
        progress.close()
    summary = tally.summary()
    _report_errors(tally, summary, args.sheet, root)
    print(json.dumps(summary))
    return 0


def _reading(v: Verdict | None) -> str:
    if v is None:
        return "nothing read"
    k = v.peak
    bulge = "unread" if v.back_bulge_norm is None else f"{v.back_bulge_norm:.3f}"
    return (f"{v.posture} {v.confidence:.0%} [{', '.join(v.reasons) or '-'}] view {v.view} "
            f"(yaw {k.yaw_deg:.0f}°), trunk {k.trunk_inclination_deg:.0f}°, "
            f"hip {k.hip_flexion_deg:.0f}°, knee {k.knee_flexion_deg:.0f}°, "
            f"hip shift {k.hip_shift_norm:+.2f}, back bulge {bulge}")


def _report_errors(tally: Tally, summary: dict[str, Any], sheet_dir: Path | None,
                   root: Path) -> None:
    """On stderr: every wrong or unsure item with what was read, the confusion and the
    reliability tables; with a sheet folder, a picture of each."""
    wrong = [o for o in tally.outcomes if not o.right]
    err = sys.stderr
    if wrong or tally.false_detections:
        print(f"\n{len(wrong)} item(s) wrong or unsure, "
              f"{len(tally.false_detections)} false detection(s):", file=err)
    for o in wrong:
        print(f"  {o.item}: labelled {o.truth}, said {o.predicted}: "
              f"{_reading(verdict_of(o.detail))}", file=err)
    for name, d in tally.false_detections:
        print(f"  {name}@{d.t_s:.1f}s: no bend labelled there, said "
              f"{_reading(verdict_of(d.detail))}", file=err)
    print("\nconfusion (rows: label, columns: verdict)\n" + confusion_table(summary["confusion"]),
          file=err)
    print("\nreliability (covered verdicts)\n"
          + reliability_table([o for o in tally.outcomes if o.covered]), file=err)
    if sheet_dir is not None:
        _draw_errors(wrong, tally.false_detections, sheet_dir, root)


def _draw_errors(wrong: list[Outcome], false: list[tuple[str, Detection]], folder: Path,
                 root: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    from edge.capture.sources import read_image

    drawn = 0
    for o in wrong:
        title = f"{o.item}: labelled {o.truth}"
        if isinstance(o.detail, PictureResult):
            tile = annotate(read_image(root / o.item), o.detail.sample, o.detail.verdict, title)
        elif isinstance(o.detail, AnalyzedBend):
            tile = _deepest_frames(str(root / o.item.rsplit("@", 1)[0]), [o.detail])[0]
        else:
            continue  # a missed bend: nothing was read to draw
        write_rgb(str(folder / f"{_slug(o.item.removesuffix(Path(o.item).suffix))}.png"), tile)
        drawn += 1
    for name, d in false:
        if isinstance(d.detail, AnalyzedBend):
            tile = _deepest_frames(str(root / name), [d.detail])[0]
            write_rgb(str(folder / f"{_slug(name)}_false_{d.t_s:.1f}s.png"), tile)
            drawn += 1
    print(f"\n{drawn} sheet(s) of wrong or unsure items in {folder.resolve()}", file=sys.stderr)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def run_calibrate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    smoother = PoseSmoother()
    calibrator = Calibrator()
    with open_source(args.source) as source:
        progress = Progress(f"calibrate {args.source}", source.frame_count)
        try:
            for frame in source:
                pose = smoother.smooth(engine.process(frame))
                if pose is not None and pose.world_m is not None:
                    calibrator.update(pose, kinematics(pose))
                progress.step()
        finally:
            progress.close()
    baseline = calibrator.baseline
    if baseline is None:
        raise HingewatchError(
            f"{args.source}: saw {calibrator.standing_frames} standing frames, need more; "
            "stand upright, side-on to the camera, whole body in view, for a few seconds")
    record = {"up_world": [round(float(v), 4) for v in baseline.up_world],
              "torso_chord_m": round(baseline.torso_chord_m, 3),
              "leg_length_m": round(baseline.leg_length_m, 3),
              "standing_frames": calibrator.standing_frames}
    print(json.dumps(record))
    if args.out:
        save_baseline(baseline, args.out)
        print(f"baseline saved to {args.out.resolve()}", file=sys.stderr)
    return 0
