"""The `Frame` value: one RGB picture with the time it was taken."""

from __future__ import annotations

from dataclasses import dataclass

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
