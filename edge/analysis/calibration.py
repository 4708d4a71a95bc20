"""Calibration: the standing baseline (up direction, torso and leg length) per device.

Learned from upright frames as they come and refreshed as the person stands again; the
`hingewatch calibrate SOURCE` command runs it on purpose and saves the result.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np

from edge.analysis.kinematics import Baseline, Kinematics
from edge.pose.landmarks import Joint, Pose

# A frame counts as standing when trunk, hips and knees are all within these angles of
# straight (measured against the uncalibrated up, so a little loose).
STAND_MAX_TRUNK_DEG = 12.0
STAND_MAX_HIP_DEG = 15.0
STAND_MAX_KNEE_DEG = 15.0
# Standing frames kept; a baseline needs MIN_FRAMES of them. Raising MIN_FRAMES waits
# longer before the first baseline and resists a single odd frame better.
WINDOW_FRAMES = 150
MIN_FRAMES = 20


def is_standing(kin: Kinematics) -> bool:
    return (abs(kin.trunk_inclination_deg) < STAND_MAX_TRUNK_DEG
            and kin.hip_flexion_deg < STAND_MAX_HIP_DEG
            and kin.knee_flexion_deg < STAND_MAX_KNEE_DEG)


class Calibrator:
    """`update(pose, kin)` per frame; `baseline` once enough standing has been seen."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._trunks: deque[np.ndarray] = deque(maxlen=WINDOW_FRAMES)
        self._legs: deque[float] = deque(maxlen=WINDOW_FRAMES)
        self.baseline: Baseline | None = None

    @property
    def standing_frames(self) -> int:
        return len(self._trunks)

    def update(self, pose: Pose, kin: Kinematics) -> Baseline | None:
        if pose.world_m is None or not is_standing(kin) or not kin.legs_seen:
            return self.baseline
        w = pose.world_m
        hip = (w[Joint.LEFT_HIP] + w[Joint.RIGHT_HIP]) / 2
        shoulder = (w[Joint.LEFT_SHOULDER] + w[Joint.RIGHT_SHOULDER]) / 2
        knee = (w[Joint.LEFT_KNEE] + w[Joint.RIGHT_KNEE]) / 2
        ankle = (w[Joint.LEFT_ANKLE] + w[Joint.RIGHT_ANKLE]) / 2
        self._trunks.append(shoulder - hip)
        self._legs.append(float(np.linalg.norm(hip - knee) + np.linalg.norm(knee - ankle)))
        if len(self._trunks) >= MIN_FRAMES:
            trunks = np.asarray(self._trunks)
            up = np.median(trunks / np.linalg.norm(trunks, axis=1, keepdims=True), axis=0)
            self.baseline = Baseline(
                up_world=up / np.linalg.norm(up),
                torso_chord_m=float(np.median(np.linalg.norm(trunks, axis=1))),
                leg_length_m=float(np.median(self._legs)),
            )
        return self.baseline


def save_baseline(baseline: Baseline, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "up_world": [round(float(v), 5) for v in baseline.up_world],
        "torso_chord_m": round(baseline.torso_chord_m, 4),
        "leg_length_m": round(baseline.leg_length_m, 4),
    }, indent=2) + "\n")


def load_baseline(path: Path) -> Baseline:
    data = json.loads(path.read_text())
    up = np.asarray(data["up_world"], dtype=np.float64)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 0.5:
        raise ValueError(f"{path}: up_world must be 3 finite numbers of unit length")
    return Baseline(up / np.linalg.norm(up), float(data["torso_chord_m"]),
                    float(data["leg_length_m"]))
