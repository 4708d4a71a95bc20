"""Calibration: the standing baseline (up direction, torso and leg length) per device.

Learned from upright frames as they come and refreshed as the person stands again; the
`hingewatch calibrate SOURCE` command runs it on purpose and saves the result. Given a
file, the calibrator starts from the baseline learned there before and keeps what it learns
in it, so a restart does not forget it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable
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
# A learned baseline changes with every standing frame: it is written at most this often
# (and when the stream ends). Lowering it costs a file write per standing spell.
SAVE_EVERY_S = 60.0

log = logging.getLogger(__name__)


def is_standing(kin: Kinematics) -> bool:
    return (abs(kin.trunk_inclination_deg) < STAND_MAX_TRUNK_DEG
            and kin.hip_flexion_deg < STAND_MAX_HIP_DEG
            and kin.knee_flexion_deg < STAND_MAX_KNEE_DEG)


class Calibrator:
    """`update(pose, kin)` per frame; `baseline` once enough standing has been seen.

    With `file`, the baseline learned before is the start, and a new one is saved there."""

    def __init__(self, file: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.file = file
        self._clock = clock
        self._saved_s = -math.inf
        self._unsaved = False
        self.baseline: Baseline | None = None
        self.reset()
        if file is not None and file.is_file():
            try:
                self.baseline = load_baseline(file)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # A damaged file costs only the baseline: it is learned again.
                log.warning("%s: cannot read the learned baseline (%s); learning it anew",
                            file, exc)

    def reset(self) -> None:
        self._trunks: deque[np.ndarray] = deque(maxlen=WINDOW_FRAMES)
        self._legs: deque[float] = deque(maxlen=WINDOW_FRAMES)
        self.baseline = None

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
            self._unsaved = True
            if self._clock() - self._saved_s >= SAVE_EVERY_S:
                self.flush()
        return self.baseline

    def flush(self) -> None:
        """Save a baseline learned since the last save (with a file)."""
        if self.file is None or not self._unsaved or self.baseline is None:
            return
        try:
            save_baseline(self.baseline, self.file)
        except OSError as exc:
            log.warning("%s: cannot keep the learned baseline: %s", self.file, exc)
        self._unsaved = False
        self._saved_s = self._clock()


def save_baseline(baseline: Baseline, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")  # never a half-written file after a crash
    tmp.write_text(json.dumps({
        "up_world": [round(float(v), 5) for v in baseline.up_world],
        "torso_chord_m": round(baseline.torso_chord_m, 4),
        "leg_length_m": round(baseline.leg_length_m, 4),
    }, indent=2) + "\n")
    tmp.replace(path)


def load_baseline(path: Path) -> Baseline:
    data = json.loads(path.read_text())
    up = np.asarray(data["up_world"], dtype=np.float64)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 0.5:
        raise ValueError(f"{path}: up_world must be 3 finite numbers of unit length")
    return Baseline(up / np.linalg.norm(up), float(data["torso_chord_m"]),
                    float(data["leg_length_m"]))
