"""Smoothing: One Euro filters over landmarks, a stage of its own after the pose engine.

The defaults are MediaPipe 0.10.14's pose_landmark_filtering settings, so a smoothed track
can be compared with MediaPipe's own output frame by frame (fed MediaPipe's unfiltered
landmarks, `PoseSmoother` reproduces its filtered ones to 1e-4 px). `AUX_LANDMARKS` is the
same graph's filter for the tracking ROI; the pose engine owns that one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from edge.pose.landmarks import Pose


@dataclass(frozen=True)
class OneEuroSettings:
    """One Euro filter constants (Casiez et al. 2012).

    - `min_cutoff_hz`: cutoff when the signal is still; lower removes more jitter at rest
      and adds lag.
    - `beta`: how fast the cutoff rises with speed; higher follows fast moves more closely
      and lets more jitter through while moving.
    - `derivative_cutoff_hz`: cutoff of the speed estimate itself; lower makes the speed,
      and so the cutoff, steadier.
    """

    min_cutoff_hz: float
    beta: float
    derivative_cutoff_hz: float = 1.0


# Image landmarks, filtered in pixels over the object scale: min_cutoff 0.05 puts 0.01 of
# the weight on the newest value at rest at 30 fps (raising it lets more jitter through);
# beta 80 opens the filter as a landmark moves (raising it lags less on fast moves).
IMAGE_LANDMARKS = OneEuroSettings(min_cutoff_hz=0.05, beta=80.0)
# World landmarks, in metres without value scaling: min_cutoff 0.1 smooths a little less at
# rest than the image landmarks, beta 40 follows speed in m/s (raising either lags less).
WORLD_LANDMARKS = OneEuroSettings(min_cutoff_hz=0.1, beta=40.0)
# The two auxiliary landmarks that steer the tracking ROI, in pixels over the object scale:
# min_cutoff 0.01 holds the crop almost still at rest (raising it lets jitter into the crop),
# beta 10 lets it follow once the person moves (raising it follows fast moves sooner).
AUX_LANDMARKS = OneEuroSettings(min_cutoff_hz=0.01, beta=10.0)
# Visibility: a plain low-pass with this weight on the newest value; raising it follows
# occlusions sooner and flickers more.
VISIBILITY_ALPHA = 0.1
# Below this object scale (px) smoothing is skipped, as the value scale would explode.
# Raising it leaves tiny, far-away people unsmoothed.
MIN_OBJECT_SCALE = 1e-6


class OneEuroFilter:
    """A One Euro filter over an array of independent values, MediaPipe's variant.

    `value_scale` turns the value into a scale-free speed (MediaPipe divides by the
    object's size in pixels so a far and a near person are smoothed alike).
    """

    def __init__(self, settings: OneEuroSettings) -> None:
        for name in ("min_cutoff_hz", "derivative_cutoff_hz"):
            value = getattr(settings, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a finite value > 0, got {value}")
        if not (math.isfinite(settings.beta) and settings.beta >= 0):
            raise ValueError(f"beta: expected a finite value >= 0, got {settings.beta}")
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self._last_t_s: float | None = None
        self._x: np.ndarray | None = None  # filtered value
        self._raw: np.ndarray | None = None  # last raw value: the speed is taken from it
        self._dx: np.ndarray | None = None
        self._frequency_hz = 30.0

    @staticmethod
    def _alpha(cutoff_hz: np.ndarray | float, frequency_hz: float) -> np.ndarray | float:
        """The smoothing factor 1 / (1 + tau / te), tau = 1 / (2π·cutoff), te = 1 / frequency,
        written as w / (w + frequency) with w = 2π·cutoff: two operations on an array."""
        w = cutoff_hz * (2.0 * math.pi)
        return w / (w + frequency_hz)

    def __call__(self, t_s: float, value: np.ndarray, value_scale: float = 1.0) -> np.ndarray:
        last_t_s = self._last_t_s
        if last_t_s is not None and t_s <= last_t_s:
            return value  # out-of-order or repeated time: pass through, as MediaPipe does
        if last_t_s is not None:
            self._frequency_hz = 1.0 / (t_s - last_t_s)
        self._last_t_s = t_s
        if self._x is None or self._raw is None or self._dx is None:
            self._x = value.astype(np.float64)
            self._raw = self._x.copy()
            self._dx = np.zeros_like(self._x)
            return value
        # Each step as few numpy calls as the arithmetic allows: the filters run three times
        # per frame on small arrays, where the call, not the arithmetic, is the cost.
        frequency_hz = self._frequency_hz
        settings = self.settings
        speed = value - self._raw
        speed *= value_scale * frequency_hz
        a_d = self._alpha(settings.derivative_cutoff_hz, frequency_hz)
        dx = a_d * speed + (1.0 - a_d) * self._dx
        self._dx = dx
        a = self._alpha(settings.min_cutoff_hz + settings.beta * np.abs(dx), frequency_hz)
        x = self._x + a * (value - self._x)
        self._x = x
        self._raw = value.astype(np.float64)
        return x.copy()


def alignment_scale_px(aux_px: np.ndarray) -> float:
    """Twice the distance between the two auxiliary points (hip centre, scale point), px.

    The side of MediaPipe's alignment rectangle before its 1.25 widening: the object scale
    of both the landmark filter and the ROI filter.
    """
    d = np.asarray(aux_px[1], dtype=np.float64) - np.asarray(aux_px[0], dtype=np.float64)
    return float(2.0 * math.hypot(d[0], d[1]))


def object_scale_px(pose: Pose) -> float:
    """The person's size in pixels that sets the filter's value scale.

    MediaPipe takes it from the two raw (unfiltered) auxiliary points, see
    `alignment_scale_px`; without them, the mean of the landmarks' bounding-box width and
    height.
    """
    wh = np.asarray(pose.resolution_wh, dtype=np.float64)
    if pose.aux_xy_norm is not None:
        return alignment_scale_px(pose.aux_xy_norm * wh)
    xy = pose.xy_px
    size = xy.max(axis=0) - xy.min(axis=0)
    return float(size.mean())


class PoseSmoother:
    """The smoothing stage: `smooth(pose)` returns the filtered pose; None resets it."""

    def __init__(
        self,
        image: OneEuroSettings = IMAGE_LANDMARKS,
        world: OneEuroSettings = WORLD_LANDMARKS,
        visibility_alpha: float = VISIBILITY_ALPHA,
    ) -> None:
        if not 0.0 < visibility_alpha <= 1.0:
            raise ValueError(f"visibility_alpha: expected 0 < alpha <= 1, got {visibility_alpha}")
        self._image = OneEuroFilter(image)
        self._world = OneEuroFilter(world)
        self._visibility_alpha = visibility_alpha
        self._visibility: np.ndarray | None = None

    def reset(self) -> None:
        self._image.reset()
        self._world.reset()
        self._visibility = None

    def smooth(self, pose: Pose | None) -> Pose | None:
        if pose is None:
            self.reset()  # the person is lost: start afresh when they come back
            return None
        w = float(pose.resolution_wh[0])
        wh = np.asarray(pose.resolution_wh, dtype=np.float64)
        scale = object_scale_px(pose)
        # Filter in pixels (x, y, and z scaled like x), then back to normalised units.
        xyz_px = np.column_stack(
            [pose.xy_px, (pose.z_norm if pose.z_norm is not None else np.zeros(33)) * w]
        )
        if scale >= MIN_OBJECT_SCALE:
            xyz_px = self._image(pose.t_s, xyz_px, 1.0 / scale)
        xy_norm = xyz_px[:, :2] / wh
        z_norm = xyz_px[:, 2] / w if pose.z_norm is not None else None
        world = pose.world_m
        if world is not None:
            world = self._world(pose.t_s, world)
        vis = pose.visibility
        if self._visibility is not None:
            a = self._visibility_alpha
            vis = a * vis + (1.0 - a) * self._visibility
        self._visibility = vis
        return replace(pose, xy_norm=xy_norm, z_norm=z_norm, world_m=world, visibility=vis)
