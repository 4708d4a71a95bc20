"""Where the engine's time per frame goes, beyond the landmark model's invoke().

Runs (b) of pose_bench.py with timing wrappers around the engine's stages, installed from
outside (the engine's files are not touched), and prints ms per frame for each stage.
`--cprofile` adds cProfile's top functions by own time for the same loop.

    taskset -c 0 .venv/bin/python bench/profile_engine.py --clip walk_640x480 --threads 1
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import clips  # noqa: E402
import timing  # noqa: E402

import edge.pose.blazepose as blazepose  # noqa: E402
from edge.capture.frames import Frame  # noqa: E402
from edge.pose.roi import Roi  # noqa: E402
from edge.pose.smoothing import PoseSmoother  # noqa: E402

_TOTALS: defaultdict[str, float] = defaultdict(float)
# Open timed calls, innermost last: each stage is charged its own time only, and a call
# made inside another stage (the sigmoid inside refine_from_heatmap) is named after both.
_STACK: list[list[Any]] = []
_OUTER = "BlazePose.process (self)"


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        parent = _STACK[-1][0] if _STACK else None
        label = name if parent in (None, _OUTER) else f"{parent} > {name}"
        _STACK.append([label, 0.0])  # label, time spent in nested timed calls
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - t0
            _, nested = _STACK.pop()
            _TOTALS[label] += elapsed - nested
            if _STACK:
                _STACK[-1][1] += elapsed

    return wrapper


class _TimedProxy:
    """Stands in for an object, timing the named methods (and calls, for a filter)."""

    def __init__(self, inner: Any, methods: dict[str, str], call: str | None = None) -> None:
        self._inner = inner
        for method, label in methods.items():
            setattr(self, method, _timed(label, getattr(inner, method)))
        self._call = _timed(call, inner) if call else inner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def instrument(engine: blazepose.BlazePose) -> None:
    """Wrap the stages `BlazePose.landmarks_in` calls; names say where each one lives.

    What is left in "BlazePose.process (self)" is landmarks_in's inline numpy (the float
    conversion of the crop, reshapes, the world rotation) and process()'s own code.
    """
    # Functions looked up in the blazepose module's globals at call time; those a given
    # version of the engine lacks are skipped.
    for attr, label in (
        ("refine_from_heatmap", "refine_from_heatmap"),
        ("_sigmoid", "_sigmoid"),
        ("apply_affine", "apply_affine"),
        ("roi_from_alignment", "roi_from_alignment"),
        ("alignment_scale_px", "alignment_scale_px"),
        ("Pose", "Pose(...) + Segmentation(...)"),
    ):
        if hasattr(blazepose, attr):
            setattr(blazepose, attr, _timed(label, getattr(blazepose, attr)))
    if hasattr(engine, "_aux_filter"):  # the tracking ROI's One Euro filter
        # type: ignore on the next line: a timing proxy stands in for the filter
        engine._aux_filter = _TimedProxy(  # type: ignore[assignment]
            engine._aux_filter, {}, call="ROI OneEuroFilter")
    # type: ignore on the next line: timed wrappers, for the profile only
    Roi.crop = _timed("Roi.crop (cv2.warpAffine)", Roi.crop)  # type: ignore[method-assign]
    engine._interpreter = _TimedProxy(engine._interpreter, {
        "set_tensor": "interpreter.set_tensor",
        "invoke": "interpreter.invoke",
        "get_tensor": "interpreter.get_tensor (outputs and mask-head features copied)",
    })
    # type: ignore on the next line: timed wrappers, for the profile only
    engine.process = _timed(_OUTER, engine.process)  # type: ignore[method-assign]


def run(clip_name: str, threads: int, with_cprofile: bool, precision: str = "int8",
        whole_model: bool = False) -> dict[str, Any]:
    clip = clips.load_clip(clip_name)
    order = clips.schedule(
        len(clip.rgb), timing.WARMUP_FRAMES + timing.timed_count(len(clip.rgb)))
    engine = blazepose.BlazePose(variant="full", num_threads=threads, tracking=True,
                                  precision=precision, mask_on_demand=not whole_model)
    smoother = PoseSmoother()
    instrument(engine)
    smooth = _timed("PoseSmoother.smooth", smoother.smooth)
    frames = [Frame(k / clip.fps, clip.rgb[i], k) for k, i in enumerate(order)]
    warm = timing.WARMUP_FRAMES
    for frame in frames[:warm]:
        smooth(engine.process(frame))
    _TOTALS.clear()
    timed = frames[warm:]
    profiler = cProfile.Profile() if with_cprofile else None
    other = timing.OtherLoad()
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    for frame in timed:
        smooth(engine.process(frame))
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - t0
    per_frame = {k: round(v * 1000 / len(timed), 3) for k, v in _TOTALS.items()}
    per_frame["engine + smoothing, less invoke"] = round(
        wall * 1000 / len(timed) - per_frame["interpreter.invoke"], 3)
    result: dict[str, Any] = {
        "clip": clip.name, "precision": precision, "threads": threads, "cpus": timing.cpus(),
        "model": "whole landmark model" if whole_model else "pose part (mask head on demand)",
        "frames": len(timed),
        "wall_ms_per_frame": round(wall * 1000 / len(timed), 3),
        "ms_per_frame": dict(sorted(per_frame.items(), key=lambda kv: -kv[1])),
        "detector_runs": engine.detector_runs,
        "other_load_pct": other.pct(),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        result["cprofile_top_by_tottime"] = out.getvalue()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", choices=sorted(clips.CLIPS), required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--precision", choices=("int8", "float"), default="int8")
    parser.add_argument("--whole-model", action="store_true",
                        help="run the whole landmark model on every frame (no mask head "
                             "on demand), as the engine did before the cut")
    args = parser.parse_args(argv)
    result = run(args.clip, args.threads, args.cprofile, args.precision, args.whole_model)
    report = result.pop("cprofile_top_by_tottime", None)
    print(json.dumps(result, indent=2))
    if report:
        print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
