"""The virtual camera: a pinhole with square pixels, placed around the person.

Room frame = the body frame of a person standing at the origin facing +x (y up, z to
their right). A person elsewhere is placed by a `Placement`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

Side = Literal["left", "right"]
RESOLUTIONS: tuple[tuple[int, int], ...] = ((1280, 720), (640, 480))
FPS_CHOICES: tuple[float, ...] = (10.0, 15.0, 20.0, 25.0, 30.0)
# Highest a camera is mounted (m): a shelf or the top of a cupboard.
MAX_CAMERA_HEIGHT_M = 2.4
# Share of the frame's height the standing body may fill when the camera backs off to fit
# it; raising it lets people come closer and their feet leave the frame more often.
FIT_SHARE = 0.92


@dataclass(frozen=True)
class Placement:
    """Where a person stands in the room and which way they face (deg about +y)."""

    x_m: float = 0.0
    z_m: float = 0.0
    heading_deg: float = 0.0

    def to_room(self, body_xyz: np.ndarray) -> np.ndarray:
        """Body-frame points (..., 3) into the room frame."""
        h = math.radians(self.heading_deg)
        c, s = math.cos(h), math.sin(h)
        rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        return body_xyz @ rot.T + np.array([self.x_m, 0.0, self.z_m])


def view_direction(yaw_deg: float, side: Side) -> np.ndarray:
    """Horizontal unit vector, in the body frame, from the person towards the camera.

    Yaw 0 looks at the person's `side` (a pure side view), +90 at their front.
    """
    y = math.radians(yaw_deg)
    lateral = -1.0 if side == "left" else 1.0
    return np.array([math.sin(y), 0.0, lateral * math.cos(y)])


@dataclass(frozen=True)
class Camera:
    """Intrinsics (resolution, horizontal field of view, frame rate) and the camera's pose
    in the room (position; azimuth of the optical axis about +y, 0 = looking along +x;
    tilt down; roll). `yaw_deg`, `pitch_deg`, `distance_m` and `side` say how it sees the
    person it was placed around."""

    resolution_wh: tuple[int, int]
    hfov_deg: float
    fps: float
    position_m: tuple[float, float, float]
    azimuth_deg: float
    tilt_deg: float
    roll_deg: float = 0.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    distance_m: float = 3.0
    side: Side = "left"

    def __post_init__(self) -> None:
        w, h = self.resolution_wh
        if w <= 0 or h <= 0:
            raise ValueError(f"resolution_wh: expected positive sizes, got {self.resolution_wh}")
        if not 20.0 <= self.hfov_deg <= 130.0:
            raise ValueError(f"hfov_deg: expected 20..130, got {self.hfov_deg}")
        if not 1.0 <= self.fps <= 120.0:
            raise ValueError(f"fps: expected 1..120, got {self.fps}")

    @classmethod
    def around(cls, yaw_deg: float, pitch_deg: float, distance_m: float,
               aim_m: tuple[float, float, float] = (0.0, 0.9, 0.0), side: Side = "left",
               resolution_wh: tuple[int, int] = (1280, 720), hfov_deg: float = 66.0,
               fps: float = 15.0, roll_deg: float = 0.0) -> Camera:
        """A camera `distance_m` from `aim_m`, seeing a person at the origin (facing +x) from
        `yaw_deg` (0 side, 90 front) and looking down by `pitch_deg`."""
        pitch = math.radians(pitch_deg)
        aim = np.asarray(aim_m, dtype=np.float64)
        height = aim[1] + distance_m * math.sin(pitch)
        if height > MAX_CAMERA_HEIGHT_M:  # a lower mount: look down less
            pitch = math.asin((MAX_CAMERA_HEIGHT_M - aim[1]) / distance_m)
        back = view_direction(yaw_deg, side) * math.cos(pitch) + np.array(
            [0.0, math.sin(pitch), 0.0])
        pos = aim + back * distance_m
        return cls(
            resolution_wh=resolution_wh, hfov_deg=hfov_deg, fps=fps,
            position_m=(float(pos[0]), float(pos[1]), float(pos[2])),
            azimuth_deg=math.degrees(math.atan2(-back[2], -back[0])),
            tilt_deg=math.degrees(pitch), roll_deg=roll_deg, yaw_deg=yaw_deg,
            pitch_deg=math.degrees(pitch), distance_m=distance_m, side=side,
        )

    @classmethod
    def random(cls, rng: np.random.Generator, yaw_range_deg: tuple[float, float] = (-60, 60),
               pitch_range_deg: tuple[float, float] = (-5, 25),
               distance_range_m: tuple[float, float] = (2.0, 4.0),
               hfov_range_deg: tuple[float, float] = (60, 70),
               body_height_m: float = 1.75, front: bool = False) -> Camera:
        """A household camera around a person of `body_height_m`: backs off past
        `distance_range_m` when needed so the standing person fits the frame.
        `front=True` puts it in front of the person (yaw 90°)."""
        lo, hi = yaw_range_deg
        if lo > hi:
            raise ValueError(f"yaw_range_deg: expected low ≤ high, got {yaw_range_deg}")
        yaw = 90.0 if front else float(rng.uniform(lo, hi))
        pitch = float(rng.uniform(*pitch_range_deg))
        hfov = float(rng.uniform(*hfov_range_deg))
        res = RESOLUTIONS[int(rng.integers(len(RESOLUTIONS)))]
        fps = FPS_CHOICES[int(rng.integers(len(FPS_CHOICES)))]
        side: Side = "left" if rng.random() < 0.5 else "right"
        aim_y = float(rng.uniform(0.45, 0.55)) * body_height_m
        vfov_half = math.atan(math.tan(math.radians(hfov) / 2) * res[1] / res[0])
        fit = 0.5 * body_height_m * 1.08 / (FIT_SHARE * math.tan(vfov_half))
        distance = max(float(rng.uniform(*distance_range_m)), fit)
        return cls.around(yaw, pitch, distance, aim_m=(float(rng.uniform(-0.1, 0.1)), aim_y, 0.0),
                          side=side, resolution_wh=res, hfov_deg=hfov, fps=fps,
                          roll_deg=float(rng.normal(0.0, 1.5)))

    def with_fps(self, fps: float) -> Camera:
        return replace(self, fps=fps)

    @property
    def focal_px(self) -> float:
        return self.resolution_wh[0] / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    def rotation(self) -> np.ndarray:
        """(3, 3) rows: the camera's right, down and forward axes in the room frame."""
        az, tilt = math.radians(self.azimuth_deg), math.radians(self.tilt_deg)
        fwd = np.array([math.cos(tilt) * math.cos(az), -math.sin(tilt),
                        math.cos(tilt) * math.sin(az)])
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        r = math.radians(self.roll_deg)
        right, down = (math.cos(r) * right + math.sin(r) * down,
                       -math.sin(r) * right + math.cos(r) * down)
        return np.stack([right, down, fwd])

    def level_rotation(self) -> np.ndarray:
        """(3, 3) rows: image-right, gravity-down and depth axes with the tilt and roll
        taken out — the frame BlazePose's world landmarks are roughly expressed in."""
        az = math.radians(self.azimuth_deg)
        fwd = np.array([math.cos(az), 0.0, math.sin(az)])
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        return np.stack([right, np.array([0.0, -1.0, 0.0]), fwd])

    def to_camera(self, room_xyz: np.ndarray) -> np.ndarray:
        """Room points (..., 3) in camera coordinates (x right, y down, z depth)."""
        return (room_xyz - np.asarray(self.position_m)) @ self.rotation().T

    def project(self, room_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (..., 2) and depth (...,) of room points."""
        c = self.to_camera(room_xyz)
        z = np.maximum(c[..., 2], 0.05)
        f = self.focal_px
        w, h = self.resolution_wh
        px = np.stack([w / 2.0 + f * c[..., 0] / z, h / 2.0 + f * c[..., 1] / z], axis=-1)
        return px, z
