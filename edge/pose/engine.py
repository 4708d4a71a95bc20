"""The `PoseEngine` protocol every pose model implements, and the factory the CLI uses."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from edge.capture.frames import Frame
from edge.pose.landmarks import Pose
from edge.pose.runtime import RuntimeName

ENGINES = ("blazepose", "movenet")
log = logging.getLogger(__name__)


class PoseEngine(Protocol):
    """`process(frame)` returns the tracked person's `Pose`, or None when nobody is there."""

    name: str
    frames: int
    detector_runs: int

    def process(self, frame: Frame) -> Pose | None: ...

    def reset(self) -> None: ...


def create_engine(
    name: str = "blazepose",
    variant: str = "full",
    num_threads: int = 2,
    runtime: RuntimeName = "auto",
    tracking: bool = True,
    model: Path | None = None,
    precision: str = "auto",
) -> PoseEngine:
    """Build an engine by name; `model` overrides MoveNet's model file; `precision` is
    BlazePose's ("auto": `edge.pose.models.resolve_precision`)."""
    if name == "blazepose":
        from edge.pose.blazepose import BlazePose
        from edge.pose.models import resolve_precision

        chosen, why = resolve_precision(precision, variant, runtime)
        if why:
            log.warning("%s", why)
        return BlazePose(variant=variant, num_threads=num_threads, runtime=runtime,
                         tracking=tracking, precision=chosen)
    if name == "movenet":
        from edge.pose.movenet import MoveNet

        return MoveNet(model=model, num_threads=num_threads, runtime=runtime, tracking=tracking)
    raise ValueError(f"engine: expected one of {', '.join(ENGINES)}, got {name!r}")
