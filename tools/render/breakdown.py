"""Where the classifier fails on a recorded set: accuracy by class, camera yaw and prop.

Usage: .venv/bin/python tools/render/breakdown.py tests/data/rendered/set1 [--json]

Each still is classified from its recorded pose exactly as `hingewatch analyze PICTURE`
classifies the picture (kinematics without a baseline, the back line, classify_picture),
so the overall confusion matches `hingewatch eval` on the pictures' labels.csv.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from edge.analysis.analyzer import still_sample
from edge.analysis.classifier import classify_picture
from edge.analysis.recorded import RecordedItem, load_recorded

YAW_BINS = ((0, 30), (30, 60), (60, 90))


def predict(it: RecordedItem) -> str:
    if it.pose is None:
        return "none"
    return classify_picture(still_sample(it.pose)).posture


def _yaw_bin(it: RecordedItem) -> str:
    yaw = it.params.get("scene", {}).get("camera", {}).get("yaw_deg")
    if yaw is None:  # the starter set names its view
        return str(it.params.get("view", "?"))
    lo, hi = next(b for b in YAW_BINS if b[0] <= yaw <= b[1])
    return f"yaw {lo}-{hi}"


def _prop(it: RecordedItem) -> str:
    scene = it.params.get("scene")
    if scene is None:
        return str(it.params.get("prop", "?"))
    return scene["prop"] + (f" ({scene['load_carry']})" if scene["prop"] == "load" else "")


def breakdown(items: list[RecordedItem]) -> dict[str, Any]:
    stills = [it for it in items if it.clip is None]
    rows = [(it, predict(it)) for it in stills]
    right = sum(p == it.label for it, p in rows)
    out: dict[str, Any] = {"items": len(rows), "accuracy": round(right / max(1, len(rows)), 4),
                           "confusion": {}, "by": {}}
    conf: dict[str, Counter] = defaultdict(Counter)
    for it, p in rows:
        conf[it.label][p] += 1
    out["confusion"] = {k: dict(v) for k, v in sorted(conf.items())}
    for axis, key in (("yaw", _yaw_bin), ("prop", _prop)):
        cells: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for it, p in rows:
            cell = cells[key(it)][it.label]
            cell[0] += p == it.label
            cell[1] += 1
        out["by"][axis] = {k: {lab: f"{ok}/{n}" for lab, (ok, n) in sorted(v.items())}
                           for k, v in sorted(cells.items())}
    out["back_line"] = _back_lines(stills)
    return out


def _back_lines(items: list[RecordedItem]) -> dict[str, dict[str, str]]:
    """Per yaw bin and true class: how often the back line is read, and its median bulge."""
    cells: dict[str, dict[str, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for it in items:
        line = it.reading.get("back_line")
        cells[_yaw_bin(it)][it.label].append(None if line is None else line["bulge_norm"])
    out: dict[str, dict[str, str]] = {}
    for k, v in sorted(cells.items()):
        out[k] = {}
        for lab, values in sorted(v.items()):
            read = [x for x in values if x is not None]
            med = f" med {statistics.median(read):+.3f}" if read else ""
            out[k][lab] = f"{len(read)}/{len(values)}{med}"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("set", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    b = breakdown(load_recorded(args.set))
    if args.json:
        print(json.dumps(b))
        return 0
    print(f"{b['items']} stills, accuracy {b['accuracy']:.1%}; confusion {b['confusion']}")
    for axis, cells in b["by"].items():
        print(f"by {axis} (right/all per true class):")
        for k, v in cells.items():
            print(f"  {k:20} " + "  ".join(f"{lab} {r:>6}" for lab, r in v.items()))
    print("back line read (read/all, median bulge over the chord) by yaw:")
    for k, v in b["back_line"].items():
        print(f"  {k:20} " + "  ".join(f"{lab} {r}" for lab, r in v.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
