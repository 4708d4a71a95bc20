"""Which layers to keep float: the int8 landmark model of a variant under several recipes,
each with its speed-up over float and its accuracy, so the recipe in models/manifest.toml
is a measured choice.

For each recipe (`first_convs/head_cells[/min_cells]`: the first convolutions kept float,
every op with at most `head_cells` output cells and, if given, every op with at least
`min_cells`; the heads stay float always), the landmark model is
quantised on the same calibration crops, then measured: its bare invoke against the float
model's (one thread, taking turns, lowest block median), the build's own check against the
float engine (edge/pose/quantize/build.py check, with the full model's limits) and the
fixtures' goldens (tests/test_blazepose.py's limits, via precision_bench.measure).

    python bench/int8_recipes.py --variant full --recipes 2/4,1/4,2/0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import precision_bench  # noqa: E402

from edge.pose.blazepose import BlazePose  # noqa: E402
from edge.pose.models import load_builds, model_names, model_path  # noqa: E402

# tests/test_blazepose.py's limits against the goldens.
GOLDEN_LIMITS = {"pose_jpg_max_px": 15.0, "squats_max_px": 28.0, "squats_mean_px": 2.8,
                 "squats_world_max_m": 0.19}
MASK_IOU_MIN = 0.85


def golden_failures(row: dict[str, Any]) -> list[str]:
    out = [f"{k} {row[k]} > {v}" for k, v in GOLDEN_LIMITS.items()
           if row[k] is None or row[k] > v]
    if row["pose_jpg_mask_iou"] is None or row["pose_jpg_mask_iou"] < MASK_IOU_MIN:
        out.append(f"pose_jpg_mask_iou {row['pose_jpg_mask_iou']} < {MASK_IOU_MIN}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="full", choices=("lite", "full", "heavy"))
    parser.add_argument("--recipes", default="2/4,1/4,2/0,0/4")
    args = parser.parse_args(argv)
    from edge.pose.quantize import calibration
    from edge.pose.quantize.build import PIXEL_SCALING, check, quantize

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    fixtures = precision_bench.FIXTURES
    builds = load_builds()
    full = builds["pose_landmark_full_int8"]
    det_int8, lm_int8 = model_names(args.variant, "int8")
    lm_float = model_names(args.variant)[1]
    reference = BlazePose(variant=args.variant, num_threads=1)
    precision_bench.log(f"{args.variant}: calibration crops from the float engine")
    inputs = calibration.collect(reference, fixtures, None, 0, lambda m: None)
    clip = precision_bench.squats()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        shutil.copy(model_path(det_int8), tmp / f"{det_int8}.tflite")
        for text in args.recipes.split(","):
            first, cells, *rest = (int(v) for v in text.split("/"))
            spec = dataclasses.replace(full, name=lm_int8, file=f"{lm_int8}.tflite",
                                       source=lm_float, variant=args.variant,
                                       float_first_convs=first, float_head_cells=cells,
                                       float_min_cells=rest[0] if rest else 0)
            precision_bench.log(f"{args.variant} {text}: quantising")
            data, _ = quantize(model_path(lm_float).read_bytes(), inputs.landmark,
                               PIXEL_SCALING["landmark"], spec, threads=1)
            (tmp / spec.file).write_bytes(data)
            invokes = precision_bench.invoke_ms(
                {"float": model_path(lm_float), "int8": tmp / spec.file})
            candidate = BlazePose(variant=args.variant, num_threads=1, precision="int8",
                                  models_dir=tmp)
            result = check(reference, candidate, fixtures, full.check)
            golden = precision_bench.measure(candidate, clip)
            golden.pop("_xy")
            row = {"variant": args.variant, "recipe": text,
                   "invoke_ms": invokes, "speedup": round(invokes["float"] / invokes["int8"], 2),
                   "check": {k: round(v, 3) for k, v in result.figures.items()},
                   "check_failures": result.failures, "golden": golden,
                   "golden_failures": golden_failures(golden)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| variant | float first convs / head cells / min cells | int8 × float | "
          "check (vs float) | "
          "goldens (tests' limits) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['recipe']} | {r['speedup']} | "
              f"{'; '.join(r['check_failures']) or 'passes'} | "
              f"{'; '.join(r['golden_failures']) or 'passes'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
