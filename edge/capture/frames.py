"""The `Frame` value (one RGB picture with the time it was taken) and `FrameSource`, the base
of every source of frames (files, folders, webcams, the Pi camera)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np


@dataclass(frozen=True)
class Frame:
    """`rgb` is (height, width, 3) uint8; `t_s` seconds since the source started.

    `lores_gray` is an optional small greyscale copy (the Pi camera's lores stream) that the
    motion gate reads instead of shrinking `rgb` itself.
    """

    t_s: float
    rgb: np.ndarray
    index: int = 0
    lores_gray: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(
                f"rgb: expected (height, width, 3) uint8, got {self.rgb.shape} {self.rgb.dtype}"
            )

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


class FrameSource:
    """Base: iterate for frames; `with` releases what the source holds."""

    name = "source"
    # Frames per second the source says it delivers (None for a folder of pictures).
    fps: float | None = None
    # How many frames it holds, when known (None for cameras and some containers).
    frame_count: int | None = None
    # True when its frames are unrelated pictures (a folder), each to be read alone.
    stills = False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file or device; safe to call twice."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
