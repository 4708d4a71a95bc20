"""BlazePose lite / full / heavy × float / int8: speed and accuracy, one row each.

For each case: the landmark model's and the detector's bare invoke on one core with one
thread (median ms), the whole engine per frame on the squats clip (tracked, smoothed, one
thread), the landmark error against the fixtures' goldens (pose.jpg and its mask; the
squats clip: mean and max px, world max m), the error against the same variant's float
engine, and the labelled pictures read right (tests/test_analysis_fixtures.py's seven).

The int8 models are the built ones (`hingewatch models quantize --variant V`), built and
checked here first when absent (ai-edge-quantizer, the `quantize` extra; without it the
int8 rows are skipped). Needs the float models of each variant (`hingewatch models fetch
--variant V`; a missing one is skipped).

    python bench/precision_bench.py [--variants lite,full,heavy]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import timing  # noqa: E402

from edge.capture.frames import Frame  # noqa: E402
from edge.capture.sources import VideoSource, read_image  # noqa: E402
from edge.commands.analyze import classify_frame  # noqa: E402
from edge.errors import ModelError  # noqa: E402
from edge.pose.blazepose import BlazePose, cut_landmark_model  # noqa: E402
from edge.pose.models import model_names, model_path  # noqa: E402
from edge.pose.smoothing import PoseSmoother  # noqa: E402

FIXTURES = Path(os.environ.get("HINGEWATCH_FIXTURES",
                               Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
LABELLED = {"forward_fold_frame01.png": "hinge", "forward_fold_frame04.png": "round",
            "forward_fold_frame36.png": "round", "squat.png": "squat", "image2.jpeg": "stand",
            "image3.jpeg": "stand", "two_people_walking.png": "stand"}
# Bare invokes: float and int8 take turns in blocks, the lowest block median is kept
# (timing.interleaved_min_median), so the int8 speed-up is measured on the same machine state.
INVOKE_ROUNDS = 9
INVOKE_BLOCK = 10


def log(message: str) -> None:
    print(f"precision bench: {message}", file=sys.stderr, flush=True)


def invoke_steps(path: Path, content: bytes | None = None) -> Callable[[], object]:
    """One bare invoke of the model at `path` (or of `content` made from it; one thread),
    its input set once."""
    from edge.pose.runtime import load_interpreter

    it = load_interpreter(path, 1, "auto", content)
    d = it.get_input_details()[0]
    x = np.random.default_rng(0).integers(0, 100, d["shape"]).astype(d["dtype"])
    it.set_tensor(d["index"], x)
    invoke: Callable[[], object] = it.invoke
    return invoke


def invoke_ms(paths: dict[str, Path]) -> dict[str, float]:
    """ms per bare invoke of each named model, taking turns (see INVOKE_ROUNDS); for each
    landmark model also its pose part ("… pose part"), what the engine runs on a frame whose
    mask is not read (edge/pose/split.py), where the model can be cut."""
    steps = {k: invoke_steps(p) for k, p in paths.items()}
    for k, p in paths.items():
        cut = cut_landmark_model(p.read_bytes()) if k.startswith("landmark") else None
        if cut is not None:
            steps[f"{k} pose part"] = invoke_steps(p, cut.pose)
    best = timing.interleaved_min_median(steps, rounds=INVOKE_ROUNDS, block=INVOKE_BLOCK)
    return {k: round(v * 1e3, 2) for k, v in best.items()}


def ensure_int8(variant: str) -> None:
    """Build the int8 models of `variant` (checked, as `hingewatch models quantize` does)
    unless they are built and intact; ModelError or ImportError if that cannot be done."""
    try:
        for name in model_names(variant, "int8"):
            model_path(name)
    except ModelError:
        from edge.pose.quantize.build import build

        log(f"{variant}: building the int8 models (hingewatch models quantize)")
        build(variant, FIXTURES, log=log)


def model_file(variant: str, precision: str, index: int) -> Path:
    """The detector (index 0) or landmark model (1) of a case."""
    return model_path(model_names(variant, precision)[index])


def squats() -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    expected = FIXTURES / "expected"
    px = np.asarray(json.loads((expected / "pose_squats.full.json").read_text()))[:, :, :2]
    world = np.asarray(json.loads((expected / "pose_squats_3d.full.json").read_text()))
    with VideoSource(FIXTURES / "video" / "pose_squats.mp4") as source:
        return [f.rgb for f in source], px, world[:, :, :3]


def reads_right(engine: BlazePose, name: str, posture: str) -> bool:
    """Whether labelled picture `name` is classified as `posture`."""
    try:
        r = classify_frame(Frame(0.0, read_image(FIXTURES / "images" / name)), engine)
    except IndexError as exc:
        # classify_samples takes its "deep" frames as depth >= DEEP_SHARE · max depth,
        # which no frame meets when the depths are negative: seen with an int8 recipe.
        log(f"{name}: the classifier failed ({exc!r}); counted as wrong")
        return False
    return r.verdict is not None and r.verdict.posture == posture


def measure(engine: BlazePose, clip: tuple[list[np.ndarray], np.ndarray, np.ndarray]
            ) -> dict[str, Any]:
    rgbs, golden_px, golden_world = clip
    engine.tracking = False
    engine.reset()
    still = engine.process(Frame(0.0, read_image(FIXTURES / "images" / "pose.jpg"), 0))
    golden = json.loads((FIXTURES / "expected" / "expected_pose_jpg_blazepose.json")
                        .read_text())["landmarks_px_xy_33"]
    mask_truth = read_image(FIXTURES / "images" / "pose_segmentation.png")[:, :, 2] > 127
    right = sum(reads_right(engine, name, posture) for name, posture in LABELLED.items())
    engine.tracking = True
    engine.reset()
    smoother = PoseSmoother()
    xy, world, times = [], [], []
    for i, rgb in enumerate(rgbs):
        t0 = time.perf_counter()
        pose = smoother.smooth(engine.process(Frame(i / 30.0, rgb, i)))
        times.append(time.perf_counter() - t0)
        assert pose is not None and pose.world_m is not None, f"frame {i}: person lost"
        xy.append(pose.xy_px)
        world.append(pose.world_m)
    err = np.abs(np.asarray(xy) - golden_px)
    frame_mask = still.mask_in_frame() if still is not None else None
    mask = frame_mask > 0.5 if frame_mask is not None else None
    return {
        "engine_ms_per_frame": round(float(np.median(times[5:])) * 1e3, 2),
        "pose_jpg_max_px": None if still is None else round(
            float(np.abs(still.xy_px - np.asarray(golden)).max()), 1),
        "pose_jpg_mask_iou": None if mask is None else round(
            float((mask & mask_truth).sum() / (mask | mask_truth).sum()), 3),
        "squats_mean_px": round(float(err.mean()), 2),
        "squats_max_px": round(float(err.max()), 1),
        "squats_world_max_m": round(float(np.abs(np.asarray(world) - golden_world).max()), 3),
        "labelled_pictures_right": f"{right}/{len(LABELLED)}",
        "_xy": np.asarray(xy),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    clip = squats()
    rows: list[dict[str, Any]] = []
    for variant in args.variants.split(","):
        try:
            for name in model_names(variant):
                model_path(name)
        except ModelError as exc:
            log(f"{variant}: skipped ({exc})")
            continue
        precisions = ["float"]
        try:
            ensure_int8(variant)
            precisions.append("int8")
        except (ModelError, ImportError) as exc:
            log(f"{variant} int8: skipped ({exc})")
        log(f"{variant}: bare invokes, float and int8 taking turns")
        invokes = invoke_ms({f"{role} {precision}": model_file(variant, precision, i)
                             for precision in precisions
                             for i, role in enumerate(("detector", "landmark"))})
        float_xy = None
        for precision in precisions:
            log(f"{variant} {precision}")
            engine = BlazePose(variant=variant, num_threads=1, precision=precision)
            row = {"variant": variant, "precision": precision,
                   "landmark_invoke_ms": invokes[f"landmark {precision}"],
                   "detector_invoke_ms": invokes[f"detector {precision}"],
                   "landmark_speedup_vs_float": round(
                       invokes["landmark float"] / invokes[f"landmark {precision}"], 2),
                   "pose_part_invoke_ms": invokes.get(f"landmark {precision} pose part"),
                   "pose_part_speedup_vs_float": round(
                       invokes["landmark float pose part"]
                       / invokes[f"landmark {precision} pose part"], 2)
                   if "landmark float pose part" in invokes else None,
                   **measure(engine, clip)}
            xy = row.pop("_xy")
            if float_xy is None:
                float_xy = xy
            row["squats_mean_px_vs_float"] = round(float(np.abs(xy - float_xy).mean()), 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| model | precision | landmark invoke (× float) | without its mask head (× float) "
          "| detector invoke | engine / frame | pose.jpg max px | mask IoU | squats mean / max "
          "px | world max m | vs float mean px | pictures right |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['precision']} | {r['landmark_invoke_ms']} ms "
              f"({r['landmark_speedup_vs_float']}×) | "
              + (f"{r['pose_part_invoke_ms']} ms ({r['pose_part_speedup_vs_float']}×) | "
                 if r["pose_part_invoke_ms"] is not None else "not cut here | ")
              + f"{r['detector_invoke_ms']} ms | {r['engine_ms_per_frame']} ms | "
              f"{r['pose_jpg_max_px']} | {r['pose_jpg_mask_iou']} | {r['squats_mean_px']} / "
              f"{r['squats_max_px']} | {r['squats_world_max_m']} | "
              f"{r['squats_mean_px_vs_float']} | {r['labelled_pictures_right']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
