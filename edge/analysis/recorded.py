"""Recorded pose-model output on rendered people: tests hold the classifier to it without pixels.

`tools/render/record.py` runs the real BlazePose engine on rendered pictures (and clips) and
saves here what a `Pose` holds: one compressed .npz of arrays plus a .json of labels and scene
parameters, side by side (`set.npz`, `set.json`). The person mask is kept as its 256×256 crop
quantised to uint8: the back line thresholds it at 0.5, which the quantisation preserves.

Format 2 (format 1 still loads) writes what a clip's frames share once: the parameters every
frame of a clip has in common sit under `clips`, a frame keeps only its own; and a pose
recorded without its mask (a clip's upright frame, whose back line the analysis never
traces) loads without one instead of with an empty mask.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import HingewatchError
from edge.pose.landmarks import NUM_JOINTS, Pose, Segmentation

FORMAT = 2
READ_FORMATS = (1, 2)
LABELS = ("stand", "hinge", "round", "squat")
MASK_SIZE = 256
_FIELDS = ("xy_norm", "visibility", "presence", "z_norm", "world_m", "aux_xy_norm",
           "resolution_wh", "mask_u8", "crop_to_frame", "found", "t_s")
_FIELDS_2 = (*_FIELDS, "mask_kept")


class RecordedError(HingewatchError):
    """A recorded set is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class RecordedItem:
    """One recorded picture (or one frame of a clip): its pose, label and scene parameters.

    `pose` is None when the engine found nobody. `clip` is None for a still picture;
    frames of one clip share it and are ordered by `pose.t_s`. `reading` holds what was
    measured on the pose before saving (e.g. the back line), to check the recording by.
    """

    name: str
    label: str
    pose: Pose | None
    clip: str | None = None
    t_s: float = 0.0  # the frame's time in its clip (kept when nobody was found)
    params: dict[str, Any] = field(default_factory=dict)
    reading: dict[str, Any] = field(default_factory=dict)


def quantise_mask(mask: np.ndarray) -> np.ndarray:
    return np.clip(np.round(mask.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def _or_nan(value: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return value if value is not None else np.full(shape, np.nan)


def _pose_arrays(pose: Pose | None, t_s: float) -> dict[str, Any]:
    empty_mask = np.zeros((MASK_SIZE, MASK_SIZE), np.uint8)
    if pose is None:
        return {"xy_norm": _or_nan(None, (NUM_JOINTS, 2)), "visibility": np.zeros(NUM_JOINTS),
                "presence": 0.0, "z_norm": _or_nan(None, (NUM_JOINTS,)),
                "world_m": _or_nan(None, (NUM_JOINTS, 3)), "aux_xy_norm": _or_nan(None, (2, 2)),
                "resolution_wh": (0, 0), "mask_u8": empty_mask,
                "crop_to_frame": np.zeros((2, 3)), "found": False, "t_s": t_s,
                "mask_kept": False}
    seg = pose.segmentation
    if seg is not None and seg.mask.shape != (MASK_SIZE, MASK_SIZE):
        raise ValueError(f"mask: expected {MASK_SIZE}×{MASK_SIZE}, got {seg.mask.shape}")
    return {
        "xy_norm": pose.xy_norm, "visibility": pose.visibility, "presence": pose.presence,
        "z_norm": _or_nan(pose.z_norm, (NUM_JOINTS,)),
        "world_m": _or_nan(pose.world_m, (NUM_JOINTS, 3)),
        "aux_xy_norm": _or_nan(pose.aux_xy_norm, (2, 2)),
        "resolution_wh": pose.resolution_wh,
        "mask_u8": quantise_mask(seg.mask) if seg is not None else empty_mask,
        "crop_to_frame": seg.crop_to_frame if seg is not None else np.zeros((2, 3)),
        "found": True, "t_s": pose.t_s, "mask_kept": seg is not None,
    }


def save_recorded(
    path: Path, items: list[RecordedItem], source: str, engine: dict[str, Any]
) -> None:
    """Write `path`.npz and `path`.json (atomically, each through a temporary file)."""
    rows = [_pose_arrays(it.pose, it.t_s) for it in items]
    # the engine's own float64 everywhere: only the mask is quantised
    dtypes = {"xy_norm": np.float64, "visibility": np.float64, "presence": np.float64,
              "z_norm": np.float64, "world_m": np.float64, "aux_xy_norm": np.float64,
              "resolution_wh": np.int32, "mask_u8": np.uint8, "crop_to_frame": np.float64,
              "found": bool, "t_s": np.float64, "mask_kept": bool}
    arrays = {k: np.asarray([r[k] for r in rows], dtype=dtypes[k]) for k in _FIELDS_2}
    arrays["names"] = np.asarray([it.name for it in items], dtype=str)
    npz, js = path.with_suffix(".npz"), path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_name(npz.stem + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub: kwargs bool
    os.replace(tmp, npz)
    shared = _shared_clip_params(items)
    meta = {"format": FORMAT, "source": source, "engine": engine, "clips": shared,
            "items": [{"name": it.name, "label": it.label, "clip": it.clip,
                       "reading": it.reading,
                       "params": _own_params(it.params, shared.get(it.clip or "", {}))}
                      for it in items]}
    tmpj = js.with_name(js.stem + ".tmp.json")
    tmpj.write_text(json.dumps(meta, separators=(",", ":")))
    os.replace(tmpj, js)


def _shared_clip_params(items: list[RecordedItem]) -> dict[str, dict[str, Any]]:
    """Per clip, the parameters (key and value) every one of its frames has."""
    frames: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        if it.clip is not None:
            frames.setdefault(it.clip, []).append(it.params)
    return {clip: {k: v for k, v in ps[0].items() if all(k in p and p[k] == v for p in ps[1:])}
            for clip, ps in frames.items()}


def _own_params(params: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in shared}


def _pose_from(a: dict[str, np.ndarray], i: int) -> Pose | None:
    if not bool(a["found"][i]):
        return None

    def opt(name: str) -> np.ndarray | None:
        v = a[name][i]
        return None if np.isnan(v).all() else v.astype(np.float64)

    w, h = (int(x) for x in a["resolution_wh"][i])
    kept = bool(a["mask_kept"][i]) if "mask_kept" in a else True
    seg = (Segmentation(a["mask_u8"][i].astype(np.float32) / np.float32(255.0),
                        a["crop_to_frame"][i].astype(np.float64)) if kept else None)
    return Pose(t_s=float(a["t_s"][i]), resolution_wh=(w, h),
                xy_norm=a["xy_norm"][i].astype(np.float64),
                visibility=a["visibility"][i].astype(np.float64),
                presence=float(a["presence"][i]), z_norm=opt("z_norm"), world_m=opt("world_m"),
                segmentation=seg, aux_xy_norm=opt("aux_xy_norm"))


# A benchmark: recorded sets beside it, each maybe without some labels (a JSON file).
BENCHMARK_FORMAT = "hingewatch.rendered-benchmark/1"


def load_recorded(path: Path) -> list[RecordedItem]:
    """The items of a recorded set (`path` with or without its .npz/.json suffix), or of a
    benchmark file that names recorded sets beside it."""
    if path.suffix == ".json" and path.is_file() and not path.with_suffix(".npz").exists():
        return load_benchmark(path)
    npz, js = path.with_suffix(".npz"), path.with_suffix(".json")
    for p in (npz, js):
        if not p.is_file():
            raise RecordedError(f"{p}: no such file")
    try:
        meta = json.loads(js.read_text())
    except json.JSONDecodeError as e:
        raise RecordedError(f"{js}: not JSON ({e.msg}, line {e.lineno})") from None
    version = meta.get("format")
    if version not in READ_FORMATS:
        raise RecordedError(f"{js}: format {version!r}, expected one of "
                            f"{', '.join(map(str, READ_FORMATS))}")
    with np.load(npz, allow_pickle=False) as z:
        a = {k: z[k] for k in (*(_FIELDS if version == 1 else _FIELDS_2), "names")}
    shared: dict[str, dict[str, Any]] = meta.get("clips") or {}
    if not (isinstance(shared, dict) and all(isinstance(v, dict) for v in shared.values())):
        raise RecordedError(f"{js}: `clips` must map each clip to its shared parameters")
    entries = meta["items"]
    if len(entries) != len(a["names"]):
        raise RecordedError(f"{path}: {len(entries)} labelled items but {len(a['names'])} poses")
    out = []
    for i, entry in enumerate(entries):
        if entry["name"] != str(a["names"][i]):
            raise RecordedError(f"{path}: item {i} is {entry['name']!r} in the JSON but "
                                f"{a['names'][i]!r} in the arrays")
        if entry["label"] not in LABELS:
            raise RecordedError(f"{js}: item {entry['name']!r}: label {entry['label']!r} is not "
                                f"one of {', '.join(LABELS)}")
        clip = entry.get("clip")
        params = {**shared.get(clip or "", {}), **(entry.get("params") or {})}
        out.append(RecordedItem(entry["name"], entry["label"], _pose_from(a, i), clip,
                                float(a["t_s"][i]), params, entry.get("reading") or {}))
    return out


def load_benchmark(path: Path) -> list[RecordedItem]:
    """The parts a benchmark file names, in order. A part may leave out labels (with the
    reason in its `why`); a clip showing a left-out label goes whole, its standing frames too.
    """
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise RecordedError(f"{path}: cannot read ({e})") from None
    except json.JSONDecodeError as e:
        raise RecordedError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(spec, dict) or spec.get("format") != BENCHMARK_FORMAT:
        raise RecordedError(f"{path}: not a recorded set's JSON nor a {BENCHMARK_FORMAT} file")
    out: list[RecordedItem] = []
    for part in spec.get("parts", []):
        name, leave_out = part.get("set"), part.get("leave_out", [])
        if not isinstance(name, str) or not name.isidentifier():
            raise RecordedError(f"{path}: part {part!r}: `set` must name a set beside it")
        if not set(leave_out) <= set(LABELS):
            raise RecordedError(f"{path}: set {name}: leave_out {leave_out!r} is not among "
                                f"{', '.join(LABELS)}")
        items = load_recorded(path.parent / name)
        gone_clips = {it.clip for it in items if it.clip is not None and it.label in leave_out}
        out += [it for it in items if it.label not in leave_out and it.clip not in gone_clips]
    return out
