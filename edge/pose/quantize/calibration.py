"""Calibration inputs for the int8 build: the crops the float engine itself feeds its models.

Made only from the project's fixtures (pictures, rendered people, clips) and, when given, a
folder of rendered people: never from anything else. pose.jpg and pose_squats.mp4 are held
out: the accuracy tests and the build's own check run on them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.capture.frames import Frame
from edge.capture.sources import IMAGE_SUFFIXES, VideoSource, read_image
from edge.pose.blazepose import BlazePose
from edge.pose.detector import PoseDetector

HELD_OUT = ("pose.jpg", "pose_squats.mp4")
# Not pictures of people: the golden mask.
NOT_PEOPLE = ("pose_segmentation.png",)
# Frames taken from each clip, evenly spaced (the tracker runs on every frame).
CLIP_SAMPLES = 24


@dataclass
class Inputs:
    """uint8 pictures as each model sees them, and where each came from."""

    landmark: list[np.ndarray] = field(default_factory=list)
    detector: list[np.ndarray] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """sha256 over every picture, in order: two builds calibrated alike match."""
        h = hashlib.sha256()
        for picture in [*self.landmark, *self.detector]:
            h.update(np.ascontiguousarray(picture).tobytes())
        return h.hexdigest()


def _pictures(folder: Path, limit: int | None = None) -> list[Path]:
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                   and p.name not in HELD_OUT + NOT_PEOPLE)
    if limit is not None and len(files) > limit:
        # Evenly over the folder: a rendered set is ordered by scene, not at random.
        files = [files[int(i)] for i in np.linspace(0, len(files) - 1, limit)]
    return files


def _clips(fixtures: Path) -> list[Path]:
    folder = fixtures / "video"
    return sorted(p for p in folder.iterdir() if p.name not in HELD_OUT) if folder.is_dir() \
        else []


def _still(engine: BlazePose, rgb: np.ndarray, into: Inputs, source: str) -> None:
    engine.tracking = False
    engine.reset()
    into.detector.append(PoseDetector.letterbox(rgb)[0])
    engine.crop_sink = into.landmark.append
    try:
        engine.process(Frame(0.0, rgb, 0))
    finally:
        engine.crop_sink = None
    into.sources.append(source)


def _clip_frames(path: Path) -> Iterator[Frame]:
    with VideoSource(path) as source:
        yield from source


def _clip(engine: BlazePose, path: Path, into: Inputs, samples: int, name: str) -> None:
    """Track through the clip; keep the inputs of `samples` evenly spaced frames."""
    frames = list(_clip_frames(path))
    step = max(1, len(frames) // samples)
    engine.tracking = True
    engine.reset()
    for frame in frames:
        if frame.index % step == 0:
            into.detector.append(PoseDetector.letterbox(frame.rgb)[0])
            engine.crop_sink = into.landmark.append
        engine.process(frame)
        engine.crop_sink = None
    into.sources.append(f"{name} ({len(frames)} frames, every {step})")


def collect(engine: BlazePose, fixtures: Path, renders: Path | None, renders_count: int,
            log: Callable[[str], None]) -> Inputs:
    """The calibration inputs, through the float `engine`; `log` says what it reads."""
    into = Inputs()
    folders = [fixtures / "images", fixtures / "rendered"]
    for folder in folders:
        files = _pictures(folder)
        log(f"calibration: {len(files)} pictures from {folder}")
        for file in files:
            _still(engine, read_image(file), into, f"{folder.name}/{file.name}")
    for clip in _clips(fixtures):
        log(f"calibration: tracking {clip}")
        _clip(engine, clip, into, CLIP_SAMPLES, f"video/{clip.name}")
    if renders is not None and renders_count > 0:
        files = _pictures(renders, renders_count)
        log(f"calibration: {len(files)} rendered people from {renders}")
        for file in files:
            _still(engine, read_image(file), into, f"renders/{file.name}")
    engine.tracking = True
    engine.reset()
    return into


def held_out(fixtures: Path) -> tuple[Frame, list[Frame]]:
    """The check's inputs: pose.jpg as a still, and every frame of the squats clip."""
    still = Frame(0.0, read_image(fixtures / "images" / HELD_OUT[0]), 0)
    clip = list(_clip_frames(fixtures / "video" / HELD_OUT[1]))
    return still, clip
