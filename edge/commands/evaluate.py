"""`hingewatch eval`: detection and accuracy on labelled clips and pictures, the
synthetic household or a recorded set; on stderr every wrong or unsure item."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis.analyzer import AnalyzedBend
from edge.analysis.bends import Sample
from edge.analysis.classifier import Verdict
from edge.analysis.evaluation import (
    MISSED,
    Detection,
    Outcome,
    Tally,
    by_view_table,
    confusion_table,
    detections,
    headline,
    near_side_figures,
    read_labels,
    reliability_table,
    uncovered_table,
    verdict_of,
)
from edge.analysis.recorded import load_recorded
from edge.analysis.recorded_eval import RecordedStill, near_side, score_items
from edge.analysis.sheet import annotate, mask_picture
from edge.capture.sources import open_source, read_image
from edge.commands.analyze import PictureResult, analyze_stream, deepest_frames
from edge.commands.pose import add_engine_arguments, engine_from
from edge.errors import HingewatchError
from edge.pose.draw import write_rgb
from edge.pose_stream import PoseStream
from edge.progress import Progress


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    e.add_argument("--reviews", type=Path, metavar="FILE",
                   help="instead: reviewed bends exported by the dashboard (hingewatch "
                        "dashboard export-reviews): the device's verdicts against the labels")
    e.add_argument("--sheet", type=Path, metavar="DIR",
                   help="draw each wrong or unsure item (skeleton, back line, verdict) into DIR")
    add_engine_arguments(e)
    e.set_defaults(func=run_eval)



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
    if args.reviews is not None:
        if args.sheet is not None:
            raise HingewatchError("--sheet: reviewed bends hold no pixels to draw")
        from edge.review_export import read_reviews

        tally = Tally()
        for b in read_reviews(args.reviews):
            tally.item(Outcome(f"{b.device_id}/{b.event_id}", b.label, b.posture, b.confidence,
                               b))
        summary = tally.summary()
        _report_errors(tally, summary, None, args.reviews.parent)
        print(json.dumps(summary))
        return 0
    if args.recorded is not None:
        items = load_recorded(args.recorded)
        tally = score_items(items)
        summary = tally.summary()
        near = near_side(items)
        if near:
            summary["near_side"] = near_side_figures(score_items(near))
        # (a recorded set keeps no pixels: its sheet draws the person mask the model made)
        _report_errors(tally, summary, args.sheet, args.recorded.parent, pixels=False)
        print(json.dumps(summary))
        return 0
    if args.labels is None:
        raise HingewatchError("eval: give a LABELS.csv file, --synthetic BENDS or --recorded SET")
    rows = read_labels(args.labels)
    engine = engine_from(args)
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
            with PoseStream(open_source(str(r.clip)), lambda: engine) as stream:
                results = analyze_stream(stream)
            picture = results[0]
            assert isinstance(picture, PictureResult)
            v = picture.verdict
            tally.item(Outcome(str(r.clip.relative_to(root)), r.label,
                               v.posture if v else MISSED, v.confidence if v else None,
                               picture))
            progress.step()
        for clip, clip_rows in videos.items():
            with PoseStream(open_source(str(clip)), lambda: engine) as stream:
                bends = analyze_stream(stream)
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
    b = v.back
    bulge = "unread" if b.bulge_norm is None else f"{b.bulge_norm:.3f}"
    tuck = "" if b.hip_tuck_norm is None else f", hips {b.hip_tuck_norm:+.3f}"
    hump = "" if b.upper_hump_norm is None else f", hump {b.upper_hump_norm:.3f}"
    if b.lower_tuck_norm is not None:  # the lower back read alone, the rest hidden
        tuck += f", hips to lower back {b.lower_tuck_norm:+.3f}"
    return (f"{v.posture} {v.confidence:.0%} [{', '.join(v.reasons) or '-'}] view {v.view} "
            f"(yaw {k.yaw_deg:.0f}°), trunk {k.trunk_inclination_deg:.0f}°, "
            f"hip {k.hip_flexion_deg:.0f}°, knee {k.knee_flexion_deg:.0f}°, "
            f"hip shift {k.hip_shift_norm:+.2f}, back bulge {bulge}{hump}{tuck}")


def _report_errors(tally: Tally, summary: dict[str, Any], sheet_dir: Path | None,
                   root: Path, pixels: bool = True) -> None:
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
    print("\nnot covered (no verdict), by why\n" + uncovered_table(tally.outcomes), file=err)
    print("\nby the view the model judged\n" + by_view_table(tally.outcomes), file=err)
    print("\n" + headline(summary), file=err)
    if sheet_dir is not None:
        _draw_errors(wrong, tally.false_detections, sheet_dir, root, pixels)


def _on_mask(sample: Sample, verdict: Verdict | None, title: str) -> np.ndarray:
    """A recorded item's tile: it keeps no pixels, so the mask the model made stands in."""
    return annotate(mask_picture(sample.pose), sample, verdict, title)


def _draw_errors(wrong: list[Outcome], false: list[tuple[str, Detection]], folder: Path,
                 root: Path, pixels: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    drawn = 0
    for o in wrong:
        title = f"{o.item}: labelled {o.truth}"
        if isinstance(o.detail, RecordedStill):
            tile = _on_mask(o.detail.sample, o.detail.verdict, title)
        elif isinstance(o.detail, AnalyzedBend) and not pixels:
            tile = _on_mask(o.detail.bend.deepest, o.detail.verdict, title)
        elif isinstance(o.detail, PictureResult):
            tile = annotate(read_image(root / o.item), o.detail.sample, o.detail.verdict, title)
        elif isinstance(o.detail, AnalyzedBend):
            tile = deepest_frames(str(root / o.item.rsplit("@", 1)[0]), [o.detail])[0]
        else:
            continue  # a missed bend: nothing was read to draw
        write_rgb(str(folder / f"{_slug(o.item.removesuffix(Path(o.item).suffix))}.png"), tile)
        drawn += 1
    for name, d in false:
        if isinstance(d.detail, AnalyzedBend):
            tile = (deepest_frames(str(root / name), [d.detail])[0] if pixels else
                    _on_mask(d.detail.bend.deepest, d.detail.verdict, name))
            write_rgb(str(folder / f"{_slug(name)}_false_{d.t_s:.1f}s.png"), tile)
            drawn += 1
    print(f"\n{drawn} sheet(s) of wrong or unsure items in {folder.resolve()}", file=sys.stderr)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
