"""`hingewatch models quantize`: build, check and install the int8 models of a variant.

Steps, each said on stdout: the float models are verified; the float engine makes the
calibration inputs (calibration.py); each model is folded (fold.py), quantised with the
pinned ai-edge-quantizer and the manifest's recipe (recipe.py), and its float outputs are
made float again; the int8 engine is checked against the float one on held-out inputs;
only then are the files installed, each with its build record (edge/pose/built.py).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.capture.frames import Frame
from edge.errors import ModelError
from edge.pose.blazepose import BlazePose
from edge.pose.built import BuildSpec, arm64, verify_built, write_record
from edge.pose.models import (
    VARIANTS,
    cache_dir,
    install_file,
    load_builds,
    load_manifest,
    model_names,
    model_path,
    models_dir,
    search_dirs,
    sha256_of,
)
from edge.pose.quantize import calibration
from edge.pose.quantize.fold import SIGNATURE, prepare, strip_output_quantize
from edge.pose.quantize.recipe import recipe

Log = Callable[[str], None]
# How each model wants its pixels (scale, offset): the engine's own PixelInput arguments.
PIXEL_SCALING = {"detector": (2.0 / 255.0, -1.0), "landmark": (1.0 / 255.0, 0.0)}
# The squats clip's frames reach the engine 1/30 s apart, as in tests/test_blazepose.py.
CLIP_INTERVAL_S = 1.0 / 30.0


def check_tool(spec: BuildSpec) -> None:
    """ModelError unless the pinned quantizer is the one installed."""
    package, _, version = spec.tool.partition("==")
    try:
        have = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        have = None
    if have != version:
        found = f"version {have} is installed" if have else "it is not installed"
        raise ModelError(f"the int8 build needs {spec.tool} ({found}): "
                         "pip install 'hingewatch[quantize]'")


def quantize(float_model: bytes, pictures: list[np.ndarray], scaling: tuple[float, float],
             spec: BuildSpec, threads: int) -> tuple[bytes, list[dict[str, Any]]]:
    """The int8 model and the recipe it was made with."""
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_quantizer import quantizer

    folded = prepare(float_model)
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(folded))
    steps = recipe(model, spec.float_first_convs, spec.float_heads, spec.float_head_cells,
                   spec.float_min_cells)
    graph = model.subgraphs[0]
    input_name = graph.tensors[graph.inputs[0]].name.decode()
    scale, offset = np.float32(scaling[0]), np.float32(scaling[1])
    data = {SIGNATURE: [{input_name: (p * scale + offset)[None]} for p in pictures]}
    q = quantizer.Quantizer(bytearray(folded), steps)
    # The quantizer's progress bars and its "preserve_all_tensors is for debugging" warning
    # would bury the build's own progress lines; its errors still raise.
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranges = q.calibrate(data, num_threads=threads)
    # The input's whole range, not the calibrated one: every pixel value is then exact.
    lo, hi = spec.input_range
    ranges[input_name] = {"min": np.full_like(ranges[input_name]["min"], lo),
                          "max": np.full_like(ranges[input_name]["max"], hi)}
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = q.quantize(ranges, enable_progress_bar=False, enable_progress_report=False)
    out = flatbuffer_utils.read_model_from_bytearray(bytearray(result.quantized_model))
    strip_output_quantize(out)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(out)), steps


@dataclass(frozen=True)
class CheckResult:
    figures: dict[str, float]
    failures: list[str]


def check(reference: BlazePose, candidate: BlazePose, fixtures: Path,
          limits: dict[str, float]) -> CheckResult:
    """The candidate engine against the reference on the held-out still and clip."""
    still, clip = calibration.held_out(fixtures)
    runs = []
    for engine in (reference, candidate):
        engine.tracking = False
        engine.reset()
        pose = engine.process(still)
        engine.tracking = True
        engine.reset()
        tracked = [engine.process(Frame(f.index * CLIP_INTERVAL_S, f.rgb, f.index))
                   for f in clip]
        engine.reset()
        runs.append((pose, tracked))
    (ref_still, ref_clip), (new_still, new_clip) = runs
    if ref_still is None or new_still is None:
        return CheckResult({}, ["nobody found in pose.jpg"])
    ref_mask, new_mask = ref_still.mask_in_frame(), new_still.mask_in_frame()
    assert ref_mask is not None and new_mask is not None
    a, b = ref_mask > 0.5, new_mask > 0.5
    lost = sum((p is None) != (q is None) for p, q in zip(ref_clip, new_clip, strict=True))
    pairs = [(p, q) for p, q in zip(ref_clip, new_clip, strict=True)
             if p is not None and q is not None]
    px = np.array([np.abs(p.xy_px - q.xy_px) for p, q in pairs])
    world = np.array([np.linalg.norm(p.world_m - q.world_m, axis=1) for p, q in pairs
                      if p.world_m is not None and q.world_m is not None])
    figures = {
        "still_max_px": float(np.abs(ref_still.xy_px - new_still.xy_px).max()),
        "still_mask_iou": float((a & b).sum() / max(int((a | b).sum()), 1)),
        "clip_mean_px": float(px.mean()) if px.size else float("inf"),
        "clip_world_mean_m": float(world.mean()) if world.size else float("inf"),
        "clip_frames_person_differs": float(lost),
    }
    failures = [f"{key} {figures[key]:.3g} (at least {limit:g})" if key.endswith("iou")
                else f"{key} {figures[key]:.3g} (at most {limit:g})"
                for key, limit in limits.items()
                if (figures[key] < limit if key.endswith("iou") else figures[key] > limit)]
    if lost:
        failures.append(f"the person is found on {lost} frames by one engine and not the other")
    return CheckResult(figures, failures)


def _valid_copy(spec: BuildSpec, source_sha: str) -> Path | None:
    for folder in search_dirs():
        path = folder / spec.file
        if path.is_file():
            try:
                verify_built(path, spec, source_sha)
            except ModelError:
                return None
            return path
    return None


def _install(src: Path, record: dict[str, Any], dests: list[Path]) -> None:
    for dest in dict.fromkeys(dests):
        if dest.resolve() == src.resolve():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        install_file(src, dest)
        write_record(dest, record)


def build(variant: str, fixtures: Path, renders: Path | None = None, renders_count: int = 0,
          force: bool = False, threads: int = 2, log: Log = print) -> list[Path]:
    """Build (or find already built) the int8 detector and landmark model of `variant` into
    the models folder and the cache; returns their paths."""
    if variant not in VARIANTS:
        raise ModelError(f"variant: expected one of {sorted(VARIANTS)}, got {variant!r}")
    specs, builds = load_manifest(), load_builds()
    names = model_names(variant, "int8")
    missing = [n for n in names if n not in builds]
    if missing:
        raise ModelError(f"models/manifest.toml has no [built.{missing[0]}] recipe")
    floats = {n: model_path(builds[n].source) for n in names}  # ModelError: fetch first
    dests = [models_dir(), cache_dir()]
    todo: list[str] = []
    for name in names:
        spec = builds[name]
        have = None if force else _valid_copy(spec, specs[spec.source].sha256)
        if have is None:
            todo.append(name)
            continue
        record = verify_built(have, spec, specs[spec.source].sha256)
        _install(have, record, [d / spec.file for d in dests])
        log(f"{spec.file}: already built (sha256 {record['sha256'][:12]}…), kept")
    paths = [models_dir() / builds[n].file for n in names]
    if not todo:
        return paths
    check_tool(builds[todo[0]])
    if not (fixtures / "images").is_dir():
        raise ModelError(f"{fixtures}: no fixtures folder (the calibration pictures); give "
                         "--fixtures or set HINGEWATCH_FIXTURES")
    started = time.monotonic()
    reference = BlazePose(variant=variant, num_threads=threads)
    log(f"calibration: the float {variant} engine crops the fixtures' people")
    inputs = calibration.collect(reference, fixtures, renders, renders_count, log)
    log(f"calibration: {len(inputs.landmark)} landmark crops, {len(inputs.detector)} detector "
        f"pictures (sha256 {inputs.digest()[:12]}…)")
    models_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir(), prefix=".quantize-") as tmp_name:
        tmp = Path(tmp_name)
        made: dict[str, tuple[Path, list[dict[str, Any]]]] = {}
        for name in names:
            spec = builds[name]
            if name not in todo:
                shutil.copyfile(model_path(name), tmp / spec.file)
                continue
            kind = "detector" if spec.source == VARIANTS[variant][0] else "landmark"
            pictures = inputs.detector if kind == "detector" else inputs.landmark
            log(f"{spec.file}: quantising {floats[name].name} with {spec.tool} "
                f"({len(pictures)} calibration inputs)")
            t0 = time.monotonic()
            data, steps = quantize(floats[name].read_bytes(), pictures, PIXEL_SCALING[kind],
                                   spec, threads)
            (tmp / spec.file).write_bytes(data)
            made[name] = (tmp / spec.file, steps)
            log(f"{spec.file}: {len(data) / 1e6:.1f} MB in {time.monotonic() - t0:.0f} s")
        log("check: the int8 engine against the float one on pose.jpg and the squats clip")
        candidate = BlazePose(variant=variant, num_threads=threads, precision="int8",
                              models_dir=tmp)
        limits = builds[names[1]].check
        result = check(reference, candidate, fixtures, limits)
        shown = ", ".join(f"{k} {v:.3g}" for k, v in result.figures.items())
        if result.failures:
            raise ModelError(f"the int8 {variant} models fail their check against the float "
                             f"ones ({'; '.join(result.failures)}); nothing was installed")
        log(f"check: passed ({shown})")
        for name, (path, steps) in made.items():
            spec = builds[name]
            source = specs[spec.source]
            record = {
                "name": name,
                "file": spec.file,
                "sha256": sha256_of(path),
                "key": spec.key(source.sha256),
                "tool": spec.tool,
                "source": {"name": source.name, "sha256": source.sha256},
                "recipe": steps,
                "calibration": {"landmark_crops": len(inputs.landmark),
                                "detector_pictures": len(inputs.detector),
                                "sha256": inputs.digest(), "sources": inputs.sources},
                "check": {"variant": variant, "limits": limits, "figures": result.figures},
                "built_with": {p: importlib.metadata.version(p)
                               for p in ("ai-edge-litert", "numpy", "opencv-python-headless")},
                "arm64": arm64(),
            }
            _install(path, record, [d / spec.file for d in dests])
            same = ("the reference build's" if record["sha256"] == spec.reference_sha256
                    else "differs from the reference build's: other CPU or libraries")
            log(f"{spec.file}: installed in {', '.join(str(d) for d in dict.fromkeys(dests))} "
                f"(sha256 {record['sha256'][:12]}…, {same})")
    log(f"built in {time.monotonic() - started:.0f} s")
    return paths
