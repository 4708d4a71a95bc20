"""The motion gate: a cheap frame difference decides when the pose model runs.

It compares small greyscale pictures (the Pi camera's lores stream, or the frame shrunk),
wakes the model on movement, keeps it awake while a person is seen, and lets it sleep
after a quiet spell. A static scene then costs a resize and a subtraction per frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.capture.frames import Frame


class MotionGate:
    """`should_run(frame)` per frame; `saw_person(present)` after each model run."""

    def __init__(
        self,
        pixel_threshold: int = 25,
        min_changed_share: float = 0.004,
        sleep_after_s: float = 3.0,
        width: int = 160,
    ) -> None:
        if not 1 <= pixel_threshold <= 254:
            raise ValueError(f"pixel_threshold: expected 1-254, got {pixel_threshold}")
        if not 0 < min_changed_share < 1:
            raise ValueError(f"min_changed_share: expected 0-1, got {min_changed_share}")
        if sleep_after_s <= 0:
            raise ValueError(f"sleep_after_s: expected > 0, got {sleep_after_s}")
        self.pixel_threshold = pixel_threshold
        self.min_changed_share = min_changed_share
        self.sleep_after_s = sleep_after_s
        self.width = width
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        self._last_active_s: float | None = None
        self.changed_share = 0.0

    def _small_grey(self, frame: Frame) -> np.ndarray:
        if frame.lores_gray is not None:
            grey = frame.lores_gray
        else:
            h, w = frame.rgb.shape[:2]
            size = (self.width, max(1, round(h * self.width / w)))
            grey = cv2.cvtColor(cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA),
                                cv2.COLOR_RGB2GRAY)
        # A light blur so sensor noise does not count as movement.
        return cv2.GaussianBlur(grey, (5, 5), 0)

    def moved(self, frame: Frame) -> bool | None:
        """True/False; None for the first frame, which has nothing to compare with."""
        grey = self._small_grey(frame)
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            self.changed_share = 0.0
            return None
        diff = cv2.absdiff(grey, previous)
        self.changed_share = float(np.count_nonzero(diff > self.pixel_threshold)) / diff.size
        return self.changed_share >= self.min_changed_share

    def should_run(self, frame: Frame) -> bool:
        """True when the pose model should look at this frame."""
        moved = self.moved(frame)
        if moved is None:
            return True  # look once at the start: someone may already be standing there
        if moved:
            self._last_active_s = frame.t_s
        return self._last_active_s is not None and (
            frame.t_s - self._last_active_s <= self.sleep_after_s)

    def saw_person(self, t_s: float, present: bool) -> None:
        """A person in view keeps the model awake even when they stand still."""
        if present:
            self._last_active_s = t_s
