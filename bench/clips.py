"""The benchmark's clips and the order their frames are fed in, shared by both benchmarks.

Only numpy and OpenCV are used here: the MediaPipe benchmark imports this module from its
own venv (numpy<2), where the project's `edge` package is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# The walking clip: the stretch where the woman's hips stay inside the 4:3 centre crop,
# from x ≈ 576 of 640 to x ≈ 60 (she walks right to left at ~5 px per frame there).
WALK_FIRST, WALK_STOP = 60, 168
WALK_WH = (640, 480)


@dataclass(frozen=True)
class Clip:
    """Decoded RGB frames of one clip, held in memory so decoding is never timed."""

    name: str
    rgb: list[np.ndarray]
    fps: float
    source: str

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return int(self.rgb[0].shape[1]), int(self.rgb[0].shape[0])

    @property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self.rgb)


def fixtures_dir() -> Path:
    env = os.environ.get("HINGEWATCH_FIXTURES")
    return Path(env) if env else ROOT.parent / "shared" / "fixtures"


def _read_video(
    path: Path, to_rgb: Callable[[np.ndarray], np.ndarray], first: int = 0, stop: int | None = None
) -> tuple[list[np.ndarray], float]:
    """Frames [first, stop) of a video, each through `to_rgb` as soon as it is decoded.

    Converting one frame at a time keeps the full-size BGR frames out of memory (1.2 GB
    for the walking clip).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: fixture video missing (set HINGEWATCH_FIXTURES)")
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    frames: list[np.ndarray] = []
    try:
        index = 0
        while stop is None or index < stop:
            ok, bgr = cap.read()
            if not ok:
                break
            if index >= first:
                frames.append(to_rgb(bgr))
            index += 1
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"{path}: no frames decoded in [{first}, {stop})")
    return frames, fps


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _squats() -> Clip:
    path = fixtures_dir() / "video" / "pose_squats.mp4"
    frames, fps = _read_video(path, _to_rgb)
    return Clip("squats_720x1280", frames, fps, path.name)


def _walk() -> Clip:
    """1768×994 → 4:3 centre crop (1325×994) → 640×480: a woman walking side-on.

    The man on the box stays in the top of the picture too; the engine tracks whichever
    person the detector ranks first, as it would on a real camera.
    """
    path = fixtures_dir() / "video" / "walking_and_box_jump.mp4"
    crop = {"w": 0, "h": 0}

    def to_rgb(bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        crop_w = min(w, round(h * WALK_WH[0] / WALK_WH[1]))
        x0 = (w - crop_w) // 2
        crop.update(w=crop_w, h=h)
        small = cv2.resize(bgr[:, x0 : x0 + crop_w], WALK_WH, interpolation=cv2.INTER_AREA)
        return _to_rgb(small)

    frames, fps = _read_video(path, to_rgb, WALK_FIRST, WALK_STOP)
    source = (
        f"{path.name} frames {WALK_FIRST}-{WALK_FIRST + len(frames) - 1}, "
        f"centre crop {crop['w']}x{crop['h']} resized"
    )
    return Clip("walk_640x480", frames, fps, source)


CLIPS: dict[str, Callable[[], Clip]] = {"squats_720x1280": _squats, "walk_640x480": _walk}


def decode_clip(name: str) -> Clip:
    """Decode a clip in this process."""
    if name not in CLIPS:
        raise ValueError(f"clip: expected one of {sorted(CLIPS)}, got {name!r}")
    return CLIPS[name]()


def load_clip(name: str) -> Clip:
    """Decode a clip in a child process and take its frames back as one array.

    The decoder's buffers and the heap that full-size frames fragment stay resident after
    decoding (+66 MB with OpenCV 4.14 on the walking clip) and would count in this
    process's peak RSS; the child takes them away with it, and what is left here is the
    clip itself, whose size the benchmarks report and subtract.
    """
    if name not in CLIPS:
        raise ValueError(f"clip: expected one of {sorted(CLIPS)}, got {name!r}")
    with tempfile.TemporaryDirectory(prefix="hingewatch-bench-") as tmp:
        out = Path(tmp) / "clip.npz"
        subprocess.run([sys.executable, str(Path(__file__).resolve()), name, str(out)],
                       check=True)
        with np.load(out) as data:
            frames = data["rgb"]
            meta = json.loads(str(data["meta"]))
    return Clip(name, list(frames), float(meta["fps"]), str(meta["source"]))


def schedule(n_clip: int, total: int) -> list[int]:
    """`total` frame indices into a clip of `n_clip` frames, looping it forth and back.

    Ping-pong rather than wrap-around: a jump from the last frame to the first would lose
    tracking and charge the engine a detector run that a live camera never causes.
    """
    if n_clip < 1:
        raise ValueError(f"n_clip: expected >= 1, got {n_clip}")
    cycle = list(range(n_clip)) + list(range(n_clip - 2, 0, -1)) if n_clip > 1 else [0]
    return [cycle[i % len(cycle)] for i in range(total)]


def _decode_to(name: str, out: str) -> None:
    clip = decode_clip(name)
    meta = json.dumps({"fps": clip.fps, "source": clip.source})
    np.savez(out, rgb=np.stack(clip.rgb), meta=np.array(meta))


if __name__ == "__main__":
    # The child side of load_clip: python clips.py NAME OUT.npz
    _decode_to(sys.argv[1], sys.argv[2])
