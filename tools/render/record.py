"""Run the real BlazePose engine on rendered pictures and clips; save a compact recorded set.

Usage (the project's venv):
    .venv/bin/python tools/render/record.py SRC_DIR OUT [--variant full] [--threads 2]

SRC_DIR holds labels.csv in the eval format (`clip,start_s,end_s,label`) and, optionally,
labels.json (a list of {"file": ..., scene parameters ...}). OUT names the set without
suffix, e.g. tests/data/rendered/set1: it writes OUT.npz and OUT.json (format:
edge/analysis/recorded.py). Incremental: items already in OUT keep their recorded pose
(their labels and parameters are refreshed); only new pictures run through the engine.
--afresh runs every item through the engine again (after a change to what `reading`
measures, e.g. the back line, so the recorded readings match the code that checks them).
A picture is read and processed exactly as `hingewatch analyze PICTURE` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.analysis.analyzer import BendAnalyzer, still_sample
from edge.analysis.classifier import BACKLINE_MIN_TRUNK_DEG
from edge.analysis.evaluation import LabelRow, read_labels
from edge.analysis.kinematics import kinematics
from edge.analysis.recorded import RecordedError, RecordedItem, load_recorded, save_recorded
from edge.capture.sources import open_source
from edge.errors import HingewatchError
from edge.pose.engine import PoseEngine, create_engine
from edge.pose.landmarks import Pose

SAVE_EVERY = 50
# A clip's frame keeps its mask only where the analysis may trace the back line: the trunk
# within MASK_MARGIN_DEG of where the classifier starts reading it (BACKLINE_MIN_TRUNK_DEG),
# in the frame's own angles or as the analyser smooths them, so the smoothing's lag or an
# edge lowered later still finds one. Upright frames are most of a clip and their masks
# most of its size; a still keeps its mask always.
MASK_MARGIN_DEG = 10.0


def reading(pose: Pose | None) -> dict[str, Any]:
    """What the analysis reads off the pose before saving: the recording must not change it."""
    line = still_sample(pose).back if pose is not None else None
    if line is None:
        return {"back_line": None}
    return {"back_line": {"bulge_norm": line.bulge_norm,
                          "upper_hump_norm": line.upper_hump_norm,
                          "chord_px": line.chord_px, "found_share": line.found_share}}


def without_unread_masks(frames: list[RecordedItem]) -> list[RecordedItem]:
    """A clip's frames (in time order), each upright one without its mask."""
    analyzer = BendAnalyzer()
    edge = BACKLINE_MIN_TRUNK_DEG - MASK_MARGIN_DEG
    out = []
    for it in frames:
        analyzer.update(it.t_s, it.pose)
        smoothed = analyzer.last_sample
        if (it.pose is None or it.pose.segmentation is None or smoothed is None
                or kinematics(it.pose).trunk_inclination_deg >= edge
                or smoothed.kin.trunk_inclination_deg >= edge):
            out.append(it)
        else:
            out.append(replace(it, pose=replace(it.pose, segmentation=None)))
    return out


def load_params(src: Path) -> dict[str, dict[str, Any]]:
    p = src / "labels.json"
    if not p.is_file():
        return {}
    return {Path(r["file"]).name: r for r in json.loads(p.read_text())}


def picture(engine: PoseEngine, path: Path) -> Pose | None:
    with open_source(str(path)) as source:
        frame = next(iter(source))
    engine.reset()  # a still stands alone, as in `hingewatch analyze`
    return engine.process(frame)


def clip_frames(engine: PoseEngine, path: Path) -> list[tuple[int, Pose | None, float]]:
    engine.reset()
    out = []
    with open_source(str(path)) as source:
        for frame in source:
            out.append((frame.index, engine.process(frame), frame.t_s))
    return out


def record(src: Path, out: Path, variant: str, threads: int, afresh: bool = False) -> int:
    rows: list[LabelRow] = read_labels(src / "labels.csv")
    params = load_params(src)
    try:
        old = ({it.name: it for it in load_recorded(out)}
               if out.with_suffix(".json").exists() and not afresh else {})
    except RecordedError as e:
        print(f"{e}; recording afresh", file=sys.stderr)
        old = {}
    still_engine = create_engine("blazepose", variant, threads, "auto", tracking=False)
    clip_engine: PoseEngine | None = None
    engine_info = {"name": "blazepose", "variant": variant}
    items: dict[str, RecordedItem] = {}
    new = 0
    t0 = time.time()

    def save() -> None:
        save_recorded(out, list(items.values()), str(src), engine_info)

    for r in rows:
        name = str(r.clip.relative_to(src))
        p = params.get(r.clip.name, {})
        if not r.is_image and f"{name}#0000" in items:
            continue  # a clip of two bends has a row for each: recorded at its first
        if r.is_image:
            prev = old.get(name)
            pose = prev.pose if prev is not None else picture(still_engine, r.clip)
            rd = prev.reading if prev is not None else reading(pose)
            items[name] = RecordedItem(name, r.label, pose, None, 0.0, p, rd)
            new += prev is None
            continue
        # a clip: its frames share the clip's parameters (a sit clip's bends: `spans`),
        # each with its own depth and truth
        shared = {k: v for k, v in p.items() if k != "frames"}
        shared.update(start_s=r.start_s, end_s=r.end_s)
        per_frame = p.get("frames", [])
        recorded = {k: it for k, it in old.items() if k.startswith(f"{name}#")}
        if not recorded:
            if clip_engine is None:
                clip_engine = create_engine("blazepose", variant, threads, "auto", tracking=True)
            recorded = {f"{name}#{i:04d}": RecordedItem(f"{name}#{i:04d}", r.label, pose, name,
                                                        t_s, {}, reading(pose))
                        for i, pose, t_s in clip_frames(clip_engine, r.clip)}
            new += 1
        for it in without_unread_masks(sorted(recorded.values(), key=lambda f: f.t_s)):
            i = int(it.name.rsplit("#", 1)[1])
            frame = per_frame[i] if i < len(per_frame) else {}
            items[it.name] = RecordedItem(it.name, r.label, it.pose, name, it.t_s,
                                          dict(shared, frame=frame), it.reading)
        if new and new % SAVE_EVERY == 0:
            save()
            print(f"recorded {new} new ({(time.time() - t0) / new:.2f} s each)", flush=True)
    save()
    size = out.with_suffix(".npz").stat().st_size + out.with_suffix(".json").stat().st_size
    found = sum(it.pose is not None for it in items.values())
    print(f"{out}: {len(items)} items ({new} new, {found} with a person), {size / 1e6:.2f} MB")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path, help="folder with labels.csv (and labels.json)")
    ap.add_argument("out", type=Path, help="recorded set to write, without suffix")
    ap.add_argument("--variant", default="full")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--afresh", action="store_true",
                    help="run every item through the engine again, not only new ones")
    args = ap.parse_args(argv)
    try:
        return record(args.src.resolve(), args.out, args.variant, args.threads, args.afresh)
    except HingewatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
